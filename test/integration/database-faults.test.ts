import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { openPostgres } from '../../src/db/pg-database';
import { postgresBinaries, startThrowawayCluster, type ThrowawayCluster } from '../helpers/throwaway-cluster';

// The built package, run in its own process as n8n runs it: `npm test` builds first.
const CORE = path.join(__dirname, '..', '..', 'dist', 'core', 'index.js');
const WORKLOAD = path.join(__dirname, '..', 'helpers', 'fault-workload.js');
const DATABASE = 'ltst_faults';
const SCHEMA = 'ltst_faults';
/** The workload's connections carry this name, so the test terminates exactly the store's backends. */
const APPLICATION = 'ltst-fault-workload';

const bindir = postgresBinaries();
if (!bindir) console.warn('database-faults: skipped, no PostgreSQL binaries (initdb, pg_ctl) in /usr/lib/postgresql/15/bin; set LTST_PG_BINDIR');
const describeWithCluster = bindir ? describe : describe.skip;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Call { op: 'store' | 'retrieve'; start: number; end: number; ok: boolean; code?: string }
interface Report {
  turns: Record<string, number>;
  acked: { sessionId: string; key: string; messageId: number; content: string; duplicate: boolean; retryPass: boolean }[];
  calls: Record<'store' | 'retrieve', { ok: number; failed: number }>;
  errors: Record<string, number>;
  untyped: unknown[];
  timeline: Call[];
  retryPass: { turns: number; attempts: number; duplicates: number; stored: number };
}

/** The workload process, with its progress (successful storeMessages calls so far), its report and its exit. */
function startWorkload(cluster: ThrowawayCluster) {
  const child = fork(WORKLOAD, {
    env: { ...process.env, LTST_CORE: CORE, LTST_FAULT_URL: cluster.url(DATABASE, APPLICATION), LTST_FAULT_SCHEMA: SCHEMA },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const state = { stored: 0, report: undefined as Report | undefined, output: '' };
  child.stdout?.on('data', (chunk) => (state.output += chunk));
  child.stderr?.on('data', (chunk) => (state.output += chunk));
  child.on('message', (message: { type: string; stored?: number; report?: Report }) => {
    if (message.type === 'progress') state.stored = message.stored as number;
    if (message.type === 'report') state.report = message.report;
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, state, exited };
}
type Workload = ReturnType<typeof startWorkload>;

/** Waits until the workload made `more` successful storeMessages calls; fails fast when it died. */
async function progressBy(workload: Workload, more: number, timeoutMs: number): Promise<void> {
  const target = workload.state.stored + more;
  const deadline = Date.now() + timeoutMs;
  while (workload.state.stored < target) {
    if (workload.child.exitCode !== null || workload.child.signalCode !== null) throw new Error(`the workload process died:\n${workload.state.output}`);
    if (Date.now() > deadline) throw new Error(`the workload made no progress in ${timeoutMs} ms:\n${workload.state.output}`);
    await sleep(50);
  }
}

/** pg_terminate_backend on every backend of the store, from a superuser connection; returns how many. */
async function terminateStoreBackends(cluster: ThrowawayCluster): Promise<number> {
  const admin = new pg.Client({ connectionString: cluster.url('postgres', 'ltst-fault-test') });
  await admin.connect();
  try {
    // In the select list, not the WHERE clause: the planner may evaluate a WHERE function before the filter.
    const { rows } = await admin.query<{ done: boolean }>(`SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1`, [APPLICATION]);
    return rows.filter((row) => row.done).length;
  } finally {
    await admin.end();
  }
}

/** Milliseconds from `since` to the end of the first successful call that ended after it. */
function recoveryMs(timeline: Call[], since: number): number {
  const first = timeline.filter((c) => c.ok && c.end >= since).sort((a, b) => a.end - b.end)[0];
  return first ? first.end - since : Infinity;
}

describeWithCluster('database faults on a throwaway PostgreSQL cluster', () => {
  let cluster: ThrowawayCluster | undefined;
  let workload: Workload | undefined;

  beforeAll(async () => {
    if (!fs.existsSync(CORE)) throw new Error(`${CORE} is missing: run npm run build (npm test does it first)`);
    cluster = await startThrowawayCluster(bindir as string, DATABASE);
  }, 60_000);

  afterAll(async () => {
    if (workload && workload.child.exitCode === null && workload.child.signalCode === null) workload.child.kill('SIGKILL');
    await cluster?.destroy();
  });

  it('retries a transaction that PostgreSQL aborted as a deadlock (40P01), and both transactions apply once', async () => {
    const db = openPostgres({ connectionString: cluster?.url(DATABASE) });
    try {
      await db.exec('CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int NOT NULL); INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)');
      let attempts = 0;
      let holding = 0;
      const bothHold = new Promise<void>((resolve) => {
        const check = setInterval(() => holding >= 2 && (clearInterval(check), resolve()), 5);
      });
      // Each locks one row, waits until the other holds the other row, then wants it: a deadlock.
      const crossing = (first: number, second: number) =>
        db.transaction(async (tx) => {
          attempts += 1;
          await tx.query('UPDATE deadlock_probe SET n = n + 1 WHERE id = $1', [first]);
          holding += 1;
          await bothHold;
          await tx.query('UPDATE deadlock_probe SET n = n + 1 WHERE id = $1', [second]);
        });
      await Promise.all([crossing(1, 2), crossing(2, 1)]);
      expect(attempts).toBe(3);
      expect((await db.query('SELECT id, n FROM deadlock_probe ORDER BY id')).rows).toEqual([{ id: 1, n: 2 }, { id: 2, n: 2 }]);
    } finally {
      await db.close();
    }
  });

  it('survives terminated backends, a 3 s restart and a 30 s outage under load: typed errors only, every message stored exactly once', async () => {
    const live = cluster as ThrowawayCluster;
    workload = startWorkload(live);
    await progressBy(workload, 40, 60_000);

    // (a) Every backend of the store terminated (57P01), three times, while it is busy.
    let terminated = 0;
    const faultsAt: number[] = [];
    for (let round = 0; round < 3; round++) {
      faultsAt.push(Date.now());
      terminated += await terminateStoreBackends(live);
      await sleep(300);
    }
    const terminatedAt = Date.now();
    await progressBy(workload, 40, 30_000);

    // (b) A restart: immediate shutdown, 3 s down.
    faultsAt.push(Date.now());
    await live.stop();
    await sleep(3_000);
    await live.start();
    const restartedAt = Date.now();
    await progressBy(workload, 40, 30_000);

    // (c) An outage: 30 s down.
    faultsAt.push(Date.now());
    await live.stop();
    const downAt = Date.now();
    await sleep(30_000);
    await live.start();
    const backAt = Date.now();
    await progressBy(workload, 40, 30_000);

    workload.child.send({ type: 'stop' });
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([workload.exited, new Promise<{ code: string; signal: null }>((resolve) => (timer = setTimeout(resolve, 60_000, { code: 'timeout', signal: null })))]);
    clearTimeout(timer);
    // The process lived through all of it, and reported.
    expect({ ...exit, output: exit.code === 0 ? '' : `report: ${workload.state.report !== undefined}\n${workload.state.output}` }).toEqual({ code: 0, signal: null, output: '' });
    const report = workload.state.report as Report;

    // Every failed call got a typed, retryable LtstError (RETRYABLE or CONNECTION_FAILED), never a raw error.
    expect(report.untyped).toEqual([]);
    expect(terminated).toBeGreaterThan(0);
    expect(report.calls.store.failed + report.calls.retrieve.failed).toBeGreaterThan(0);

    // While the server is down, calls fail promptly (bounded reconnecting), not after the 15 s connect timeout.
    const duringOutage = report.timeline.filter((c) => !c.ok && c.start >= downAt + 1_000 && c.end <= backAt);
    expect(duringOutage.length).toBeGreaterThan(0);
    expect(duringOutage.every((c) => c.code === 'CONNECTION_FAILED')).toBe(true);
    const slowestFailureMs = Math.max(...duringOutage.map((c) => c.end - c.start));
    expect(slowestFailureMs).toBeLessThan(10_000);

    // The pool recovers as soon as the server is back.
    const recovery = { terminated: recoveryMs(report.timeline, terminatedAt), restart: recoveryMs(report.timeline, restartedAt), outage: recoveryMs(report.timeline, backAt) };
    expect(recovery.restart).toBeLessThan(3_000);
    expect(recovery.outage).toBeLessThan(3_000);

    await verifyStored(live, report);
    // Calls in flight when a fault struck that still succeeded: retried inside the store.
    const rodeThrough = report.timeline.filter((c) => c.ok && faultsAt.some((at) => c.start <= at && c.end > at)).length;
    console.log(
      [
        `database faults: ${terminated} backends terminated; restart 3 s down; outage 30 s down`,
        `calls ok/failed: store ${report.calls.store.ok}/${report.calls.store.failed}, retrieve ${report.calls.retrieve.ok}/${report.calls.retrieve.failed}; errors ${JSON.stringify(report.errors)}`,
        `failed calls during the outage: ${duringOutage.length}, slowest ${slowestFailureMs} ms`,
        `calls in flight at a fault that still succeeded: ${rodeThrough}`,
        `first success after: termination ${recovery.terminated} ms, restart ${recovery.restart} ms, outage ${recovery.outage} ms`,
        `retry pass: ${report.retryPass.turns} turns, ${report.retryPass.attempts} calls, ${report.retryPass.stored} stored, ${report.retryPass.duplicates} already stored`,
      ].join('\n'),
    );
  }, 180_000);
});

/** Acknowledged messages are stored exactly once, as returned; every session is complete and gap-free. */
async function verifyStored(cluster: ThrowawayCluster, report: Report): Promise<void> {
  const db = new pg.Client({ connectionString: cluster.url(DATABASE, 'ltst-fault-test') });
  await db.connect();
  try {
    const { rows: messages } = await db.query<{ session_id: string; idempotency_key: string; message_id: string; content: string; message_index: number }>(
      `SELECT session_id, idempotency_key, message_id::text, content, message_index FROM ${SCHEMA}.conversation_messages ORDER BY session_id, message_index`,
    );
    const { rows: sessions } = await db.query<{ session_id: string; session_length: number }>(`SELECT session_id, session_length FROM ${SCHEMA}.conversation_sessions`);

    const byKey = new Map<string, (typeof messages)[number][]>();
    for (const row of messages) byKey.set(`${row.session_id}/${row.idempotency_key}`, [...(byKey.get(`${row.session_id}/${row.idempotency_key}`) ?? []), row]);
    for (const acked of report.acked) {
      const stored = byKey.get(`${acked.sessionId}/${acked.key}`) ?? [];
      expect(stored.map((row) => [Number(row.message_id), row.content])).toEqual([[acked.messageId, acked.content]]);
    }

    for (const [sessionId, turns] of Object.entries(report.turns)) {
      const rows = messages.filter((row) => row.session_id === sessionId);
      const expectedKeys = Array.from({ length: turns }, (_, turn) => [`t${turn}-u`, `t${turn}-a`]).flat().sort();
      expect(rows.map((row) => row.idempotency_key).sort()).toEqual(expectedKeys);
      expect(rows.map((row) => row.message_index)).toEqual(rows.map((_, index) => index));
      expect(sessions.find((s) => s.session_id === sessionId)?.session_length).toBe(rows.length);
    }
    expect(sessions.length).toBe(Object.keys(report.turns).length);
  } finally {
    await db.end();
  }
}
