// A busy process for database-faults.test.ts, as n8n would be: concurrent storeMessages (each
// with idempotency keys) and retrieveContext against the built package, while the test breaks
// the server. On 'stop' it lets the calls in flight finish, stores the turns that failed again
// with the same keys (the retry a caller makes), sends its report and exits 0. A database fault
// that escapes as an unhandled error ends it with another code, which fails the test.
'use strict';

const { openMemory, closeAllMemory, LtstError } = require(process.env.LTST_CORE);

const SESSIONS = Number(process.env.LTST_FAULT_SESSIONS ?? 6);
const store = openMemory({
  connectionString: process.env.LTST_FAULT_URL,
  schema: process.env.LTST_FAULT_SCHEMA,
  embeddings: { provider: 'none' },
  memory: { onWarning: () => undefined },
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sessionId = (s) => `fault-session-${s}`;
const userId = (s) => `fault-user-${s % 3}`;
const turnMessages = (s, turn) => [
  { userId: userId(s), sessionId: sessionId(s), role: 'human', content: `question ${turn} of session ${s} about the weather`, idempotencyKey: `t${turn}-u` },
  { userId: userId(s), sessionId: sessionId(s), role: 'ai', content: `answer ${turn} of session ${s}: sunny`, idempotencyKey: `t${turn}-a` },
];

const report = {
  turns: {}, // sessionId -> turns started (each turn is two messages)
  acked: [], // every message a storeMessages call returned: { sessionId, key, messageId, content, duplicate, retryPass }
  calls: { store: { ok: 0, failed: 0 }, retrieve: { ok: 0, failed: 0 } },
  errors: {}, // "CODE sqlState" -> count
  untyped: [], // anything that is not a retryable LtstError: must stay empty
  timeline: [], // { op, start, end, ok, code }
  retryPass: { turns: 0, attempts: 0, duplicates: 0, stored: 0 },
};
let stopping = false;

function noteError(error) {
  if (error instanceof LtstError && error.retryable) {
    const key = `${error.code} ${error.sqlState ?? '-'}`;
    report.errors[key] = (report.errors[key] ?? 0) + 1;
    return error.code;
  }
  report.untyped.push({ name: error?.name, code: error?.code, message: String(error?.message ?? error) });
  return 'UNTYPED';
}

/** One call, timed and counted; returns its result, or undefined when it failed. */
async function call(op, work) {
  const start = Date.now();
  try {
    const result = await work();
    report.calls[op].ok += 1;
    report.timeline.push({ op, start, end: Date.now(), ok: true });
    if (process.send) process.send({ type: 'progress', stored: report.calls.store.ok });
    return result;
  } catch (error) {
    report.calls[op].failed += 1;
    report.timeline.push({ op, start, end: Date.now(), ok: false, code: noteError(error) });
    return undefined;
  }
}

function noteStored(stored, retryPass) {
  for (const m of stored) {
    report.acked.push({ sessionId: m.sessionId, key: m.idempotencyKey, messageId: m.messageId, content: m.content, duplicate: m.duplicate, retryPass });
  }
}

async function worker(s, failedTurns) {
  for (let turn = 0; !stopping; turn++) {
    report.turns[sessionId(s)] = turn + 1;
    const stored = await call('store', () => store.storeMessages(turnMessages(s, turn)));
    if (stored) noteStored(stored, false);
    else failedTurns.push([s, turn]);
    await call('retrieve', () => store.retrieveContext({ userId: userId(s), sessionId: sessionId(s), query: `weather ${turn}`, useCache: turn % 2 === 0 }));
    await sleep(10);
  }
}

/** The caller's retry: the same messages with the same idempotency keys, until stored. */
async function retryPass(failedTurns) {
  report.retryPass.turns = failedTurns.length;
  for (const [s, turn] of failedTurns) {
    for (let attempt = 1; attempt <= 20; attempt++) {
      report.retryPass.attempts += 1;
      try {
        const stored = await store.storeMessages(turnMessages(s, turn));
        noteStored(stored, true);
        report.retryPass.stored += stored.filter((m) => !m.duplicate).length;
        report.retryPass.duplicates += stored.filter((m) => m.duplicate).length;
        break;
      } catch (error) {
        if (noteError(error) === 'UNTYPED') break;
        await sleep(250);
      }
    }
  }
}

async function main() {
  await store.migrate();
  const failedTurns = [];
  process.on('message', (message) => {
    if (message?.type === 'stop') stopping = true;
  });
  await Promise.all(Array.from({ length: SESSIONS }, (_, s) => worker(s, failedTurns)));
  await retryPass(failedTurns);
  await store.close();
  await closeAllMemory();
  process.send({ type: 'report', report }, () => process.disconnect());
}

main().catch((error) => {
  console.error('workload failed:', error);
  process.exitCode = 2;
  process.disconnect?.();
});
