import pg from 'pg';
import { closeAllMemory, openMemory } from '../../src';
import { withDatabase } from '../../src/db/registry';
import { withScope } from '../../src/db/scope';
import { postgresBinaries, startThrowawayCluster, type ThrowawayCluster } from '../helpers/throwaway-cluster';

// Roles the shared test server's role (ltst) cannot create: a cluster of its own, where we are superuser.
const DATABASE = 'ltst_roles';
const SCHEMA = 'memory';

const bindir = postgresBinaries();
if (!bindir) console.warn('row-level-security-roles: skipped, no PostgreSQL binaries (initdb, pg_ctl) in /usr/lib/postgresql/15/bin; set LTST_PG_BINDIR');
const describeWithCluster = bindir ? describe : describe.skip;

describeWithCluster('row-level security and the role the store connects as', () => {
  let cluster: ThrowawayCluster;
  const as = (user: string) => ({ connectionString: cluster.url(DATABASE).replace('postgres@', `${user}@`), schema: SCHEMA, embeddings: { provider: 'none' } as const });

  beforeAll(async () => {
    cluster = await startThrowawayCluster(bindir as string, DATABASE);
    // The schema installed by its owner, as a DBA would; then the two roles a DBA may hand out.
    await openMemory(as('postgres')).migrate();
    const admin = new pg.Client({ connectionString: cluster.url(DATABASE) });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE memory_app LOGIN NOSUPERUSER NOBYPASSRLS; CREATE ROLE memory_bypass LOGIN NOSUPERUSER BYPASSRLS`);
      for (const role of ['memory_app', 'memory_bypass']) {
        await admin.query(`GRANT USAGE ON SCHEMA ${SCHEMA} TO ${role};
          GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${SCHEMA} TO ${role};
          GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${SCHEMA} TO ${role}`);
      }
    } finally {
      await admin.end();
    }
  }, 60_000);

  afterAll(async () => {
    await closeAllMemory();
    await cluster?.destroy();
  });

  it('reports a superuser as bypassing row-level security, with a warning that says what to do', async () => {
    const report = await openMemory(as('postgres')).health();
    expect(report.rowLevelSecurity).toEqual({ role: 'postgres', enforced: false, bypassedBy: 'superuser', unprotectedTables: [] });
    expect(report.warnings.join('\n')).toContain('Row-level security is bypassed: role "postgres" is a superuser');
  });

  it('reports a role with BYPASSRLS as bypassing', async () => {
    const report = await openMemory(as('memory_bypass')).health();
    expect(report.rowLevelSecurity).toMatchObject({ role: 'memory_bypass', enforced: false, bypassedBy: 'bypassrls' });
  });

  it('holds an application role that does not own the tables to the policies, and the store works under it', async () => {
    const config = as('memory_app');
    const store = openMemory(config);
    expect((await store.health()).rowLevelSecurity).toEqual({ role: 'memory_app', enforced: true, unprotectedTables: [] });
    await store.storeMessages([
      { userId: 'alice', sessionId: 'alice-1', role: 'human', content: 'alice writes' },
      { userId: 'bob', sessionId: 'bob-1', role: 'human', content: 'bob writes' },
    ]);
    expect((await store.retrieveContext({ userId: 'bob', sessionId: 'bob-1', query: 'writes' })).recentMessages.map((m) => m.content)).toEqual(['bob writes']);
    await expect(store.getMessages('bob', 'alice-1')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const seen = await withScope({ users: ['alice'] }, () => withDatabase(config, async (db) => (await db.query<{ content: string }>(`SELECT content FROM ${SCHEMA}.conversation_messages`)).rows));
    expect(seen).toEqual([{ content: 'alice writes' }]);
  });
});
