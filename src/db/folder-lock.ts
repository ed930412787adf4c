import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LtstError, errorCode } from '../errors';

/**
 * The embedded database folder belongs to one process at a time: two PGlite instances on one
 * folder overwrite each other's files and lose data. The lock is a file in the folder naming its
 * holder, created atomically and removed on close and on process exit.
 *
 * A lock left behind (a crash, kill -9, a signal Node does not turn into an exit) is taken over:
 * - on the same machine (same host name and PID namespace) when its process is gone: the pid is
 *   not alive, or is alive but started at another time (the pid was reused), or is this very
 *   process without holding the lock (a container restarted with the same pid);
 * - from another host or container, where the pid cannot be checked, when the holder has not
 *   refreshed the file for STALE_AFTER_MS (a holder refreshes it every HEARTBEAT_MS).
 */
export const LOCK_FILE_NAME = '.ltst-memory.lock';
const HEARTBEAT_MS = 15_000;
export const STALE_AFTER_MS = 120_000;

interface Holder {
  pid: number;
  hostname: string;
  /** Linux: the PID namespace, so a pid is only compared inside the same container. */
  pidNamespace?: string;
  /** Linux: the holder's start time in clock ticks after boot, to tell a reused pid. */
  startTime?: string;
  since: string;
  token: string;
}

/** Lock files this process holds, by path, with their token. */
const held = new Map<string, string>();
let heartbeat: NodeJS.Timeout | undefined;

function readOptional(read: () => string): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** For best-effort file work (a refresh, putting a lock back) whose failure changes nothing for the caller. */
function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // nothing to do: see the caller
  }
}

const pidNamespace = () => readOptional(() => fs.readlinkSync('/proc/self/ns/pid'));

/** Field 22 of /proc/<pid>/stat; the fields after the command name (which may hold spaces) start at field 3. */
function startTime(pid: number): string | undefined {
  const stat = readOptional(() => fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

function readHolder(file: string): { holder?: Holder; mtimeMs: number } | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const { mtimeMs } = fs.statSync(file);
    const holder = readOptional(() => JSON.parse(text)) as Holder | undefined;
    return { holder: typeof holder?.pid === 'number' && typeof holder.token === 'string' ? holder : undefined, mtimeMs };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function isStale(file: string, holder: Holder | undefined, mtimeMs: number): boolean {
  if (!holder) return true; // unreadable: never written by a live holder (it is created complete)
  if (holder.hostname !== os.hostname() || holder.pidNamespace !== pidNamespace()) return Date.now() - mtimeMs > STALE_AFTER_MS;
  if (holder.pid === process.pid) return held.get(file) !== holder.token;
  if (!alive(holder.pid)) return true;
  const now = startTime(holder.pid);
  return holder.startTime !== undefined && now !== undefined && now !== holder.startTime;
}

/** Creates the lock file complete or not at all (a reader never sees it half written). */
function create(file: string, holder: Holder): boolean {
  const draft = `${file}.${holder.token}`;
  fs.writeFileSync(draft, JSON.stringify(holder));
  try {
    fs.linkSync(draft, file);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    // A file system without hard links: an exclusive create is the next best thing.
    if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EXDEV'].includes(errorCode(error) ?? '')) throw error;
    try {
      fs.writeFileSync(file, JSON.stringify(holder), { flag: 'wx' });
      return true;
    } catch (second) {
      if (errorCode(second) === 'EEXIST') return false;
      throw second;
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
}

/** Moves a stale lock aside; if another opener replaced it meanwhile, puts that one back. */
function takeOver(file: string, stale: Holder | undefined): void {
  const aside = `${file}.${randomUUID()}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  if (readHolder(aside)?.holder?.token !== stale?.token) quietly(() => fs.linkSync(aside, file));
  fs.rmSync(aside, { force: true });
}

function folderInUse(folder: string, file: string, holder: Holder | undefined): LtstError {
  const where = holder?.hostname === os.hostname() ? '' : ` on host ${holder?.hostname}`;
  const who = holder ? `pid ${holder.pid}${where}, since ${holder.since}` : 'holder unknown';
  return new LtstError('FOLDER_IN_USE', `The embedded database folder ${folder} is in use by another process (${who})`, {
    hint:
      'The embedded database serves one process at a time. Several n8n processes (queue-mode workers, `n8n execute` beside a running n8n) ' +
      'need a PostgreSQL server: use a Server connection instead. ' +
      `A lock whose process is gone is taken over on the next open (from another host or container: ${STALE_AFTER_MS / 60_000} minutes after its last refresh); ` +
      `if you are sure no process uses the folder, delete ${file}.`,
  });
}

const owns = (file: string, token: string) => readOptional(() => fs.readFileSync(file, 'utf8'))?.includes(token) === true;

function refresh(): void {
  const now = new Date();
  for (const file of held.keys()) quietly(() => fs.utimesSync(file, now, now));
}

function releaseAll(): void {
  for (const [file, token] of held) {
    if (owns(file, token)) fs.rmSync(file, { force: true });
  }
  held.clear();
}

export interface FolderLock {
  /** Removes the lock file (once; later calls do nothing). */
  release(): void;
}

/** Locks `folder` (a real path) for this process, or throws FOLDER_IN_USE naming the holder. */
export function lockFolder(folder: string): FolderLock {
  const file = path.join(folder, LOCK_FILE_NAME);
  const self: Holder = { pid: process.pid, hostname: os.hostname(), pidNamespace: pidNamespace(), startTime: startTime(process.pid), since: new Date().toISOString(), token: randomUUID() };
  for (let attempt = 0; ; attempt += 1) {
    if (create(file, self)) break;
    const found = readHolder(file);
    if (!found) continue; // released meanwhile
    if (!isStale(file, found.holder, found.mtimeMs) || attempt >= 3) throw folderInUse(folder, file, found.holder);
    takeOver(file, found.holder);
  }
  held.set(file, self.token);
  if (held.size === 1) {
    heartbeat = setInterval(refresh, HEARTBEAT_MS);
    heartbeat.unref();
    process.once('exit', releaseAll);
  }
  return {
    release() {
      if (held.get(file) !== self.token) return;
      if (owns(file, self.token)) fs.rmSync(file, { force: true });
      held.delete(file);
      if (held.size === 0) {
        clearInterval(heartbeat);
        process.removeListener('exit', releaseAll);
      }
    },
  };
}
