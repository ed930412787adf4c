// Stops a throwaway PostgreSQL cluster (by its postmaster's pid) and removes its folder, when told
// to (SIGTERM: throwaway-cluster.ts's destroy()) or when the test process that made it is gone,
// however it ended (a crash, a timeout, SIGKILL): a test process cannot clean up after its own death.
// Usage: node cluster-reaper.js <test process pid> <data folder>
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const [owner, dataDir] = [Number(process.argv[2]), process.argv[3]];

/** Alive and not a zombie (a reparented postmaster may never be reaped in a container). */
function isRunning(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // Gone meanwhile.
  }
}

function postmasterPid() {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

let reaping = false;
/** SIGQUIT (immediate shutdown), SIGKILL after 10 s, then the folder goes. */
function reap() {
  if (reaping) return;
  reaping = true;
  const pid = postmasterPid();
  if (pid !== undefined) signal(pid, 'SIGQUIT');
  const deadline = Date.now() + 10_000;
  const waiting = setInterval(() => {
    if (pid !== undefined && isRunning(pid)) {
      if (Date.now() > deadline) signal(pid, 'SIGKILL');
      return;
    }
    clearInterval(waiting);
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  }, 50);
}

process.on('SIGTERM', reap);
setInterval(() => isRunning(owner) || reap(), 500);
