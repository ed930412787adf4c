// A second process using the built core, as a second n8n process (a queue-mode worker, `n8n
// execute`) or a user's script would: `node core-child.mjs <action> '<json options>'`.
// It prints one JSON line per step on stdout; the test reads them.
import { createRequire } from 'node:module';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const { openMemory, closeAllMemory } = require('../../dist/core/index.js');

const [action, json] = process.argv.slice(2);
const options = JSON.parse(json);
const say = (line) => console.log(JSON.stringify(line));
const message = (sessionId, i, userId = 'u') => ({ userId, sessionId, role: i % 2 ? 'ai' : 'human', content: `${sessionId} message ${i}` });

async function write(store) {
  await store.migrate();
  for (let i = 0; i < options.count; i += 1) await store.storeMessages([message(options.sessionId, i)]);
  return (await store.getMessages('u', options.sessionId, { limit: 1000 })).length;
}

const waitForStdinEnd = () => new Promise((resolve) => readline.createInterface({ input: process.stdin }).on('close', resolve));

if (action === 'write') {
  // Writes `count` messages into `sessionId`; with `hold`, keeps the folder open until stdin ends.
  const store = openMemory(options.config);
  try {
    const read = await write(store);
    say({ pid: process.pid, read });
    if (options.hold) await waitForStdinEnd();
  } catch (error) {
    say({ pid: process.pid, error: { code: error.code, message: error.message, hint: error.hint } });
  }
  await store.close();
} else if (action === 'close-many') {
  // Many stores on one connection, operations in flight, all closed at once: every await settles.
  const stores = Array.from({ length: options.stores }, () => openMemory(options.config));
  await stores[0].migrate();
  const work = stores.flatMap((store, s) => Array.from({ length: 5 }, (_, i) => store.storeMessages([message(`close-many-${s}-${i}`, i, `close-many-${s}-${i}`)])));
  const closed = await Promise.all(stores.map((store) => store.close()));
  const results = await Promise.allSettled(work);
  say({ closed: closed.length, stored: results.filter((r) => r.status === 'fulfilled').length, failed: results.filter((r) => r.status === 'rejected').map((r) => r.reason.message) });
  await closeAllMemory();
} else {
  throw new Error(`unknown action ${action}`);
}
