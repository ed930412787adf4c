import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

// The harness is plain CommonJS (it also runs outside jest).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const h = require('../../scripts/n8n-harness');

const ROOT = path.join(__dirname, '..', '..');

/** Debian's `chromium` package: no browser is downloaded. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless Debian Chromium; fails (never skips) when the package is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install -y chromium\` (CI runs .ci/scripts/install-chromium.sh)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
}

export interface StartedN8n {
  url: string;
  output(): string;
  /** SIGTERM to start.js (which stops n8n), then kills whatever is left of it. */
  stop(): Promise<void>;
}

/** Pids of processes whose environment names this n8n user folder (n8n itself, its task runner). */
function processesOf(userFolder: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`N8N_USER_FOLDER=${userFolder}`);
      } catch {
        return false; // gone, or not ours
      }
    })
    .map(Number);
}

/** `npm start` (scripts/start.js) on free ports in `userFolder`; resolves on its "ready at <url>" line. */
export async function startLikeNpmStart(userFolder: string, timeoutMs = 180_000): Promise<StartedN8n> {
  const [port, brokerPort] = await h.distinctFreePorts(2);
  const proc: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LTST_N8N_USER_FOLDER: userFolder, LTST_N8N_PORT: String(port), LTST_N8N_BROKER_PORT: String(brokerPort) },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async () => {
    const pids = processesOf(userFolder);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 40_000).unref())]);
    }
    h.killGroup(proc.pid);
    for (const pid of [...pids, ...processesOf(userFolder)]) h.killGroup(pid); // n8n runs in its own group
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`scripts/start.js timed out:\n${out.slice(-3000)}`)), timeoutMs);
    const check = () => {
      const m = /\[ltst start\] n8n with LTST Memory is ready at (http:\/\/\S+)/.exec(out);
      if (m) (clearTimeout(timer), resolve(m[1]));
    };
    proc.stdout!.on('data', check);
    void exited.then(() => (clearTimeout(timer), reject(new Error(`scripts/start.js exited before n8n was ready:\n${out.slice(-3000)}`))));
  }).catch(async (error) => {
    await stop();
    throw error;
  });
  return { url, output: () => out, stop };
}
