import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAllMemory, openMemory, type MemoryConfig } from '../../src';
import { dropSchema, onDatabase, serverUrl } from '../helpers/databases';
import { ALL_MIGRATIONS, LATEST_VERSION } from '../helpers/migration-names';

// The built CLI, run as a user runs it: `npm test` builds first.
const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'ltst-memory.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Each CLI run is a process that opens PGlite (and for backfill the local model) from nothing:
// several of them in one test pass 60 s on a busy two-core machine.
jest.setTimeout(180_000);

const folders: string[] = [];
const tmp = (prefix: string) => {
  folders.push(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  return folders[folders.length - 1];
};

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does it first)`);
});
afterAll(async () => {
  await closeAllMemory();
  for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
});

describe('ltst-memory CLI on the embedded database', () => {
  it('migrates the default schema (public), then reports it healthy; a second migrate does nothing', async () => {
    const dir = tmp('ltst-cli-');
    const first = await cli(['migrate', '--embedded', dir]);
    expect(first).toMatchObject({ code: 0, stdout: `schema "public" at version ${LATEST_VERSION}: applied ${ALL_MIGRATIONS.join(', ')}; semantic search enabled\n` });
    expect((await cli(['migrate', '--embedded', dir])).stdout).toContain('already up to date');
    const health = await cli(['health', '--embedded', dir]);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ ok: true, driver: 'pglite', schema: 'public', version: LATEST_VERSION, semanticSearch: true, rowLevelSecurity: { role: 'ltst_app', enforced: true } });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('health exits 1 and says "not installed yet" on an empty database', async () => {
    const dir = tmp('ltst-cli-');
    const health = await cli(['health', '--embedded', dir, '--schema', 'nothing_here']);
    expect(health.code).toBe(1);
    expect(JSON.parse(health.stdout)).toMatchObject({ ok: false, installed: false });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints SQL that, applied by hand, leaves the migrator nothing to do', async () => {
    const sql = await cli(['sql', '--schema', 'by_hand', '--dimensions', '16']);
    expect(sql.code).toBe(0);
    expect(sql.stdout).not.toContain('{{');
    const dir = tmp('ltst-cli-');
    const config: MemoryConfig = { embedded: { dataDir: dir }, schema: 'by_hand' };
    await onDatabase(config, (db) => db.exec(sql.stdout));
    await onDatabase(config, (db) => db.exec(sql.stdout)); // twice: every statement is idempotent
    await closeAllMemory(); // this process lets go of the folder: the CLI is another process
    const migrate = await cli(['migrate', '--embedded', dir, '--schema', 'by_hand', '--dimensions', '16']);
    expect(migrate).toMatchObject({ code: 0, stdout: expect.stringContaining(`version ${LATEST_VERSION}: already up to date; semantic search enabled`) });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports n8n chat history, cleans up and archives', async () => {
    const dir = tmp('ltst-cli-');
    expect((await cli(['migrate', '--embedded', dir])).code).toBe(0);
    const config: MemoryConfig = { embedded: { dataDir: dir } };
    await onDatabase(config, async (db) => {
      await db.exec(`CREATE TABLE n8n_chat_histories (id serial PRIMARY KEY, session_id varchar(255) NOT NULL, message jsonb NOT NULL)`);
      await db.query(`INSERT INTO n8n_chat_histories (session_id, message) VALUES ('s1', $1), ('s1', $2)`, [
        { type: 'human', data: { content: 'hi' } },
        { type: 'ai', data: { content: 'hello' } },
      ]);
    });
    await closeAllMemory(); // this process lets go of the folder: the CLI is another process
    const imported = await cli(['import', 'n8n_chat_histories', '--embedded', dir, '--user-id', 'u1']);
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ written: 2, skipped: 0, integrity: { ok: true } });
    expect(JSON.parse((await cli(['backfill', '--embedded', dir])).stdout)).toMatchObject({ embedded: 0, remaining: 0, embedder: 'local:use-lite-512>384' });
    expect(JSON.parse((await cli(['cleanup', '--embedded', dir])).stdout)).toEqual({ cache: 0, context: 0, erasures: 0 });
    expect(JSON.parse((await cli(['archive', '--embedded', dir, '--inactive-days', '1'])).stdout)).toMatchObject({ archived: 0, inactiveDays: 1 });
    expect(await cli(['import', 'somewhere', '--embedded', dir])).toMatchObject({ code: 2, stderr: expect.stringContaining('conversation_memory, n8n_chat_histories, or messages and a file') });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports a JSON Lines file of messages, once, and names a line that is not JSON', async () => {
    const dir = tmp('ltst-cli-');
    const file = path.join(dir, 'history.jsonl');
    const line = (i: number) =>
      JSON.stringify({ userId: 'u1', sessionId: 's1', role: i % 2 ? 'ai' : 'human', content: `turn ${i}`, timestamp: `2024-05-0${i + 1}T10:00:00Z`, idempotencyKey: `k${i}`, embedding: Array.from({ length: 384 }, (_, d) => Math.sin(i + d)) });
    fs.writeFileSync(file, `${line(0)}\n\n${line(1)}\n${line(2)}\n`);
    const args = ['import', 'messages', file, '--embedded', path.join(dir, 'db'), '--rebuild-vector-index'];
    expect((await cli(['migrate', '--embedded', path.join(dir, 'db')])).code).toBe(0);
    expect(JSON.parse((await cli(args)).stdout)).toMatchObject({ read: 3, written: 3, duplicates: 0, vectorIndex: { rebuilt: true } });
    expect(JSON.parse((await cli(args)).stdout)).toMatchObject({ read: 3, written: 0, duplicates: 3 });

    fs.writeFileSync(file, `${line(3)}\n{"userId": "u1",\n`);
    expect(await cli(args)).toMatchObject({ code: 1, stderr: expect.stringContaining(`error: line 2 of ${file} is not JSON`) });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad input with a hint, exit code 1 (2 for usage)', async () => {
    expect(await cli(['migrate', '--embedded', tmp('ltst-cli-'), '--schema', 'Bad-Name'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/error: Invalid schema name "Bad-Name"\nhint: /) });
    expect(await cli(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('Unknown command "frobnicate"') });
    expect(await cli(['constructor'])).toMatchObject({ code: 2, stderr: expect.stringContaining('Unknown command "constructor"') });
    expect(await cli(['migrate', '--url', 'postgres://u:pw@127.0.0.1:1/db'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('error: Cannot connect to PostgreSQL at 127.0.0.1:1 (database "db", user "u"): nothing is listening there\nhint:'),
    });
  });
});

describe('the n8n-nodes-ltst-memory/core export', () => {
  it('resolves to the built bundle and opens the embedded database', async () => {
    const script = `const core = require('n8n-nodes-ltst-memory/core');
      core.openMemory({ embedded: {} }).migrate()
        .then((r) => console.log(r.version, r.semanticSearch, require.resolve('n8n-nodes-ltst-memory/core')))
        .finally(() => core.closeAllMemory())`;
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..', '..') }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    expect(output.trim()).toBe(`${LATEST_VERSION} true ${path.join(__dirname, '..', '..', 'dist', 'core', 'index.js')}`);
  });
});

(serverUrl ? describe : describe.skip)('ltst-memory CLI on a PostgreSQL server', () => {
  const config: MemoryConfig = { connectionString: serverUrl, schema: 'ltst_t_cli' };
  beforeEach(() => dropSchema(config));
  afterAll(() => dropSchema(config));

  it('two processes migrating at once end with one schema and no error', async () => {
    const runs = await Promise.all([0, 1].map(() => cli(['migrate', '--url', serverUrl as string, '--schema', 'ltst_t_cli'])));
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(runs.map((r) => r.stdout).filter((out) => out.includes(`applied ${ALL_MIGRATIONS.join(', ')}`))).toHaveLength(1);
    expect(runs.map((r) => r.stdout).filter((out) => out.includes('already up to date'))).toHaveLength(1);
    expect(await openMemory(config).health()).toMatchObject({ ok: true, missingObjects: [] });
  });

  it('takes the connection from the PG* environment variables when --url is absent', async () => {
    const url = new URL(serverUrl as string);
    const env = { PGHOST: url.hostname, PGPORT: url.port, PGUSER: url.username, PGPASSWORD: decodeURIComponent(url.password), PGDATABASE: url.pathname.slice(1) };
    const run = await cli(['migrate', '--schema', 'ltst_t_cli'], env);
    expect(run).toMatchObject({ code: 0, stdout: expect.stringContaining(`applied ${ALL_MIGRATIONS.join(', ')}`) });
  });
});
