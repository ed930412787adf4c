// Inside n8n under load: a chat turn served by a webhook workflow in n8n's queue mode, side by side
// with the same workflow built from n8n's own Postgres node.
//   node bench/n8n-queue.js [--url postgres://...] [--redis 127.0.0.1:6379] [--seconds 30]
//                           [--clients 20] [--workers 2] [--concurrency 10] [--repeats 3] [--profile]
// One n8n (2.41.1 under Node 24, `npm run n8n:install`) in queue mode: a main process that takes the
// webhooks and `--workers` worker processes of `--concurrency` each, with Redis and n8n's own
// database (schema ltst_bench_n8n) on this machine. Two webhook workflows, each answering when its
// last node ends:
//   - LTST: Webhook -> Store Message (the user's message) -> Retrieve Context (recent window 10,
//     hybrid recall, the message as query), embeddings off, memory in schema ltst_bench_queue;
//   - n8n Postgres: Webhook -> Postgres insert (the message) -> Postgres select (the session's last
//     10 messages), in table ltst_bench_pg.chat_messages (indexed on session and id).
// `--clients` clients post LoCoMo turns (20 users, a session each) without pause for `--seconds`,
// each workflow in turn, `--repeats` times. Reported: requests per second, the request's latency,
// and each node's own time (n8n's executionTime, read from the executions n8n saved).
// `--profile` runs the workers under V8's CPU profiler and reports where their time went, by package
// and by this package's functions (bench/n8n-profile.js).
// Writes bench/results/n8n-queue.json (with --profile: n8n-queue-profile.json; the profiler slows the workers). Needs Redis (not started here) and PostgreSQL.
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const http = require('node:http');
const { Client } = require('pg');
const n8n = require('../scripts/n8n-harness');
const { dropSchema, machine, percentile, round, spread } = require('./common');
const { DATA_DIR, loadLocomo } = require('./locomo-data');
const { summariseProfiles } = require('./n8n-profile');

const ROOT = path.join(__dirname, '..');
const SCHEMAS = { n8n: 'ltst_bench_n8n', memory: 'ltst_bench_queue', pg: 'ltst_bench_pg' };
const USERS = 20;

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}
const url = option('url', process.env.LTST_BENCH_DATABASE_URL || 'postgres://ltst:ltst@127.0.0.1:5432/ltst_test');
const [redisHost, redisPort] = option('redis', process.env.LTST_BENCH_REDIS || '127.0.0.1:6379').split(':');
const seconds = Number(option('seconds', 30));
const clients = Number(option('clients', 20));
const workers = Number(option('workers', 2));
const concurrency = Number(option('concurrency', 10));
const repeats = Number(option('repeats', 3));
const profile = process.argv.includes('--profile');
const log = (text) => process.stderr.write(`[n8n-queue] ${text}\n`);

/** Sends one command to Redis; resolves with its raw answer, rejects with Redis's error or with what to do. */
function redis(...args) {
  const command = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(String(arg))}\r\n${arg}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(redisPort), redisHost, () => socket.write(command));
    socket.setTimeout(3000, () => socket.destroy(new Error('timed out')));
    socket.once('data', (data) => (socket.end(), String(data).startsWith('-') ? reject(new Error(`Redis: ${String(data).trim()}`)) : resolve(String(data))));
    socket.once('error', (error) => reject(new Error(`Redis at ${redisHost}:${redisPort} does not answer (${error.message}); start it or pass --redis host:port`)));
  });
}

// n8n's queue keys (Bull's prefix); deleted before and after, like the schemas.
const QUEUE_PREFIX = 'ltst-bench-queue';
const dropQueueKeys = () => redis('EVAL', "for _, key in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', key) end", 0, `${QUEUE_PREFIX}:*`);

/** One JSON request on its own connection; resolves with status and parsed body (status 0: no answer in a minute). */
function request(base, method, route, body, headers = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(base + route, { method, agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        let parsed = text;
        try {
          parsed = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
      });
    });
    req.setTimeout(60000, () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

const credential = (ref) => ({ [ref.type]: { id: ref.id, name: ref.name } });
const LTST_CRED = { type: 'ltstMemoryPostgresApi', id: 'ltstQueueMemory1', name: 'LTST Memory' };
const PG_CRED = { type: 'postgres', id: 'ltstQueuePgCred1', name: 'Postgres' };

function webhook(id, route) {
  return {
    id: `${id}-0000-4000-8000-000000000001`,
    name: 'Webhook',
    type: 'n8n-nodes-base.webhook',
    typeVersion: 2,
    position: [0, 0],
    webhookId: `${id}-0000-4000-8000-0000000000ff`,
    parameters: { httpMethod: 'POST', path: route, responseMode: 'lastNode', options: {} },
  };
}

/** A workflow of a webhook and then `steps`, one after another; it answers when the last ends. */
function webhookWorkflow({ id, name, prefix, route, steps }) {
  const nodes = [webhook(prefix, route), ...steps.map((step, k) => ({ id: `${prefix}-0000-4000-8000-00000000000${k + 2}`, position: [200 * (k + 1), 0], ...step }))];
  const next = (k) => ({ main: [[{ node: nodes[k + 1].name, type: 'main', index: 0 }]] });
  const connections = Object.fromEntries(nodes.slice(0, -1).map((node, k) => [node.name, next(k)]));
  return { id, name, active: false, settings: { executionOrder: 'v1' }, nodes, connections };
}

function ltstWorkflow() {
  return webhookWorkflow({
    id: 'ltstQueueBench01',
    name: 'LTST bench: store and retrieve',
    prefix: 'a1a1a1a1',
    route: 'ltst-turn',
    steps: [
      {
        name: 'Store Message',
        type: 'n8n-nodes-ltst-memory.ltstStoreMessage',
        typeVersion: 1,
        parameters: { userId: '={{ $json.body.userId }}', sessionId: '={{ $json.body.sessionId }}', role: 'human', content: '={{ $json.body.text }}', embeddings: 'none', options: {} },
        credentials: credential(LTST_CRED),
      },
      {
        name: 'Retrieve Context',
        type: 'n8n-nodes-ltst-memory.ltstRetrieveContext',
        typeVersion: 1,
        parameters: {
          userId: "={{ $('Webhook').item.json.body.userId }}",
          sessionId: "={{ $('Webhook').item.json.body.sessionId }}",
          query: "={{ $('Webhook').item.json.body.text }}",
          output: 'bundle',
          embeddings: 'none',
          options: {},
        },
        credentials: credential(LTST_CRED),
      },
    ],
  });
}

function pgWorkflow() {
  const table = `${SCHEMAS.pg}.chat_messages`;
  const query = (sql, replacement) => ({ operation: 'executeQuery', query: sql, options: { queryReplacement: replacement } });
  const postgres = { type: 'n8n-nodes-base.postgres', typeVersion: 2.6, credentials: credential(PG_CRED) };
  return webhookWorkflow({
    id: 'ltstQueueBench02',
    name: 'n8n Postgres bench: insert and select',
    prefix: 'b2b2b2b2',
    route: 'pg-turn',
    steps: [
      {
        name: 'Insert',
        ...postgres,
        parameters: query(
          `INSERT INTO ${table} (session_id, message) VALUES ($1, $2::jsonb) RETURNING id`,
          "={{ [$json.body.sessionId, JSON.stringify({ type: 'human', data: { content: $json.body.text } })] }}",
        ),
      },
      {
        name: 'Select',
        ...postgres,
        parameters: query(`SELECT id, message FROM ${table} WHERE session_id = $1 ORDER BY id DESC LIMIT 10`, "={{ [$('Webhook').item.json.body.sessionId] }}"),
      },
    ],
  });
}

const SIDES = [
  { key: 'ltst', label: 'LTST Store Message -> Retrieve Context', route: 'ltst-turn', workflow: ltstWorkflow, nodes: ['Store Message', 'Retrieve Context'] },
  { key: 'pg', label: "n8n's Postgres node: insert -> select", route: 'pg-turn', workflow: pgWorkflow, nodes: ['Insert', 'Select'] },
];

/** Texts of the turns: LoCoMo's, cycled. */
function turnTexts() {
  if (!fs.existsSync(DATA_DIR)) throw new Error(`LoCoMo data not found at ${DATA_DIR}: the bench posts its turns`);
  return loadLocomo().flatMap((conversation) => conversation.messages.map((m) => m.content));
}

/**
 * `clients` loops posting turns for `seconds`. The rate counts the requests answered within the
 * window, so a request that hangs costs its place in the loop, not the figure's denominator.
 */
async function load(base, side, texts, cursor) {
  const latencies = [];
  let failures = 0;
  let firstFailure = null;
  const started = performance.now();
  const end = started + seconds * 1000;
  let answeredInWindow = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (performance.now() < end) {
        const user = client % USERS;
        const text = texts[cursor.next++ % texts.length];
        const t0 = performance.now();
        const res = await request(base, 'POST', `/webhook/${side.route}`, { userId: `queue-user-${user}`, sessionId: `queue-session-${user}`, text }).catch((error) => ({ status: 0, body: error.message }));
        if (res.status === 200) {
          latencies.push(performance.now() - t0);
          if (performance.now() <= end) answeredInWindow += 1;
        } else {
          failures += 1;
          firstFailure ??= `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
        }
      }
    }),
  );
  return { rate: answeredInWindow / seconds, latencies, failures, firstFailure };
}

/** Each node's executionTime and the size of the run data n8n saved, in the executions of `workflowId` since `since`; their count by status. */
async function executions(db, workflowId, since, names) {
  const flatted = require(require.resolve('flatted', { paths: [n8n.n8nPaths().n8nPkg] }));
  const { rows: statuses } = await db.query(`SELECT status, count(*)::int AS count FROM ${SCHEMAS.n8n}.execution_entity WHERE "workflowId" = $1 AND "createdAt" >= $2 GROUP BY status`, [workflowId, since]);
  const { rows } = await db.query(
    `SELECT d.data FROM ${SCHEMAS.n8n}.execution_entity e JOIN ${SCHEMAS.n8n}.execution_data d ON d."executionId" = e.id
      WHERE e."workflowId" = $1 AND e."createdAt" >= $2 AND e.status = 'success' ORDER BY e.id DESC LIMIT 400`,
    [workflowId, since],
  );
  const times = Object.fromEntries(names.map((name) => [name, []]));
  const savedBytes = rows.map(({ data }) => Buffer.byteLength(data));
  for (const { data } of rows) {
    const runData = flatted.parse(data).resultData.runData;
    for (const name of names) if (runData[name]) times[name].push(runData[name][0].executionTime);
  }
  return { times, savedBytes, statuses: Object.fromEntries(statuses.map((row) => [row.status, row.count])) };
}

async function main() {
  await dropQueueKeys(); // also says what to do when Redis does not answer
  const texts = turnTexts();
  const { hostname, port, pathname, username, password } = new URL(url);
  const database = { host: hostname, port: Number(port || 5432), database: decodeURIComponent(pathname.slice(1)), user: decodeURIComponent(username), password: decodeURIComponent(password) };
  const db = new Client({ connectionString: url });
  await db.connect();
  for (const schema of Object.values(SCHEMAS)) await dropSchema(url, schema);
  await db.query(`CREATE SCHEMA ${SCHEMAS.n8n}; CREATE SCHEMA ${SCHEMAS.pg};
    CREATE TABLE ${SCHEMAS.pg}.chat_messages (id serial PRIMARY KEY, session_id varchar(255) NOT NULL, message jsonb NOT NULL);
    CREATE INDEX ON ${SCHEMAS.pg}.chat_messages (session_id, id)`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-bench-queue-'));
  const env = await n8n.createEnv({
    vars: {
      NODE_ENV: 'production',
      N8N_LISTEN_ADDRESS: '127.0.0.1',
      N8N_SECURE_COOKIE: 'false',
      N8N_DISABLED_MODULES: 'mcp-registry',
      N8N_LOG_LEVEL: 'warn',
      DB_TYPE: 'postgresdb',
      DB_POSTGRESDB_HOST: database.host,
      DB_POSTGRESDB_PORT: String(database.port),
      DB_POSTGRESDB_DATABASE: database.database,
      DB_POSTGRESDB_USER: database.user,
      DB_POSTGRESDB_PASSWORD: database.password,
      DB_POSTGRESDB_SCHEMA: SCHEMAS.n8n,
      EXECUTIONS_MODE: 'queue',
      QUEUE_BULL_REDIS_HOST: redisHost,
      QUEUE_BULL_REDIS_PORT: redisPort,
      QUEUE_BULL_PREFIX: QUEUE_PREFIX,
    },
  });
  const children = []; // the harness kills their groups if the bench is stopped from outside
  let failed = true;
  const results = { ...machine(), date: new Date().toISOString(), seconds, clients, workers, concurrency, repeats, sides: {} };
  try {
    log('installing the package and the workflows');
    n8n.installFromSource(env, ROOT);
    const file = (name, content) => (fs.writeFileSync(path.join(work, name), JSON.stringify(content)), path.join(work, name));
    n8n.importCredentials(
      env,
      file('credentials.json', [
        { ...LTST_CRED, data: { connection: 'server', ...database, ssl: 'disable', schema: SCHEMAS.memory } },
        { ...PG_CRED, data: { ...database, ssl: 'disable', maxConnections: 100 } },
      ]),
    );
    n8n.importWorkflow(env, file('workflows.json', SIDES.map((side) => side.workflow())));

    log(`starting n8n: main and ${workers} workers of concurrency ${concurrency}`);
    children.push(n8n.startN8n(env, ['start'], { logFile: path.join(work, 'main.log') }));
    const base = `http://127.0.0.1:${env.port}`;
    for (let i = 0; ; i += 1) {
      if (children[0].exitCode !== null || i > 600) throw new Error(`n8n start did not become ready; see ${work}/main.log`);
      if ((await request(base, 'GET', '/healthz/readiness').catch(() => ({ status: 0 }))).status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (let w = 0; w < workers; w += 1) {
      const [brokerPort, healthPort] = await n8n.distinctFreePorts(2);
      const vars = { N8N_RUNNERS_BROKER_PORT: String(brokerPort), QUEUE_HEALTH_CHECK_PORT: String(healthPort), ...(profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${work}/profiles` } : {}) };
      children.push(n8n.startN8n(env, ['worker', `--concurrency=${concurrency}`], { logFile: path.join(work, `worker-${w}.log`), vars }));
    }
    const owner = await request(base, 'POST', '/rest/owner/setup', { email: 'owner@ltst.example', firstName: 'Ltst', lastName: 'Owner', password: 'Ltst-queue-2026' });
    const cookie = (owner.headers['set-cookie'] ?? []).find((c) => c.startsWith('n8n-auth='))?.split(';')[0];
    if (!cookie) throw new Error(`owner setup failed: ${owner.status} ${JSON.stringify(owner.body).slice(0, 300)}`);
    for (const side of SIDES) {
      const id = side.workflow().id;
      const { body } = await request(base, 'GET', `/rest/workflows/${id}`, undefined, { cookie });
      const res = await request(base, 'POST', `/rest/workflows/${id}/activate`, { versionId: body.data.versionId }, { cookie });
      if (res.status !== 200) throw new Error(`activating ${id}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    }

    const cursor = { next: 0 };
    log('warming up (both workflows, every worker)');
    for (const side of SIDES) await load(base, side, texts, cursor).then((r) => r.failures && log(`warm-up ${side.key}: ${r.failures} failures, ${r.firstFailure}`));
    const rounds = Object.fromEntries(SIDES.map((side) => [side.key, []]));
    for (let r = 0; r < repeats; r += 1) {
      for (const side of r % 2 ? [...SIDES].reverse() : SIDES) {
        const since = new Date();
        const run = await load(base, side, texts, cursor);
        const saved = await executions(db, side.workflow().id, since, side.nodes);
        rounds[side.key].push({ ...run, ...saved });
        log(`${side.key} round ${r + 1}: ${run.rate.toFixed(1)} requests/s, p50 ${percentile(run.latencies, 50).toFixed(1)} ms, ${run.failures} failures${run.firstFailure ? ` (${run.firstFailure})` : ''}, executions ${JSON.stringify(saved.statuses)}`);
      }
    }
    for (const side of SIDES) {
      const runs = rounds[side.key];
      results.sides[side.key] = {
        label: side.label,
        requestsPerSecond: spread(runs.map((run) => run.rate)),
        latencyMs: { p50: spread(runs.map((run) => percentile(run.latencies, 50))), p95: spread(runs.map((run) => percentile(run.latencies, 95))) },
        failures: runs.reduce((sum, run) => sum + run.failures, 0),
        executionsByStatus: runs.map((run) => run.statuses),
        savedRunDataBytes: spread(runs.map((run) => percentile(run.savedBytes, 50))),
        nodeMs: Object.fromEntries(side.nodes.map((name) => [name, { p50: spread(runs.map((run) => percentile(run.times[name], 50))), p95: spread(runs.map((run) => percentile(run.times[name], 95))) }])),
      };
    }
    if (profile) {
      for (const child of children.slice(1)) await n8n.stopN8n(child, 20000); // a worker writes its profile as it exits
      results.workerProfile = summariseProfiles(path.join(work, 'profiles'));
    }
    results.ltstShareOfPostgresRate = round(results.sides.ltst.requestsPerSecond.median / results.sides.pg.requestsPerSecond.median, 3);
    fs.writeFileSync(path.join(__dirname, 'results', profile ? 'n8n-queue-profile.json' : 'n8n-queue.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(JSON.stringify(results, null, 2));
    failed = false;
  } finally {
    for (const child of children.reverse()) await n8n.stopN8n(child, 20000);
    env.dispose();
    await dropQueueKeys();
    await db.end();
    for (const schema of Object.values(SCHEMAS)) await dropSchema(url, schema);
    if (failed) log(`n8n's logs are in ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.exitCode = 1;
  console.error(error);
});
