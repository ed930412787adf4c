import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// The built core in a second process: `npm test` builds dist first.
const SCRIPT = path.join(__dirname, 'core-child.mjs');
const CORE = path.join(__dirname, '..', '..', 'dist', 'core', 'index.js');

export interface CoreChild {
  process: ChildProcess;
  /** The next JSON line the child prints. */
  line(): Promise<Record<string, any>>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  stderr(): string;
}

const running = new Set<ChildProcess>();

/** Starts `node core-child.mjs <action> <options>`; stopChildren() ends any still running. */
export function startCoreChild(action: string, options: Record<string, unknown>): CoreChild {
  if (!fs.existsSync(CORE)) throw new Error(`${CORE} is missing: run npm run build (npm test does it first)`);
  const child = spawn(process.execPath, [SCRIPT, action, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const waiting: (() => void)[] = [];
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    for (const wake of waiting.splice(0)) wake();
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      for (const wake of waiting.splice(0)) wake();
      resolve(code ?? signal ?? -1);
    }),
  );
  let consumed = 0;
  async function line(): Promise<Record<string, any>> {
    for (;;) {
      const end = stdout.indexOf('\n', consumed);
      if (end >= 0) {
        const text = stdout.slice(consumed, end);
        consumed = end + 1;
        return JSON.parse(text);
      }
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child exited without output; stderr: ${stderr}`);
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  }
  return { process: child, line, exited, stderr: () => stderr };
}

/** Runs a child to its end and returns its first line and exit code. */
export async function runCoreChild(action: string, options: Record<string, unknown>): Promise<{ first: Record<string, any>; code: number | string; stderr: string }> {
  const child = startCoreChild(action, options);
  const first = await child.line();
  return { first, code: await child.exited, stderr: child.stderr() };
}

/** Kills every child still running, by its pid. */
export async function stopChildren(): Promise<void> {
  await Promise.all(
    [...running].map((child) => {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      return gone;
    }),
  );
}
