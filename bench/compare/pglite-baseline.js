// n8n's Postgres Chat Memory on an embedded PGlite: LangChain's classes need a PostgreSQL server (a
// pg.Pool), so the PGlite is served on a local port by @electric-sql/pglite-socket, in this process
// as the LTST store's own PGlite is. Undefined when the devDependency is not installed.
const { PGlite } = require('@electric-sql/pglite');
const { vector } = require('@electric-sql/pglite-pgvector');
const { openBaseline } = require('../baseline-langchain');

async function openPgliteBaseline({ schema, dimensions }) {
  let PGLiteSocketServer;
  try {
    ({ PGLiteSocketServer } = require('@electric-sql/pglite-socket'));
  } catch {
    return undefined;
  }
  // In memory; pgvector because the baseline also sets up LangChain's PGVectorStore.
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 10 });
  try {
    await server.start();
    const baseline = await openBaseline({ url: `postgres://postgres:postgres@${server.getServerConn()}/postgres`, schema, dimensions });
    return {
      ...baseline,
      async close() {
        await baseline.close();
        await server.stop();
        await db.close();
      },
    };
  } catch (error) {
    await server.stop().catch(() => undefined);
    await db.close();
    throw error;
  }
}

module.exports = { openPgliteBaseline };
