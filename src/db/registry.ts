import { createHash } from 'node:crypto';
import type { MemoryConfig } from '../config';
import type { Database } from './database';
import { openPostgres, poolConfig } from './pg-database';
import { isInMemory, openPglite } from './pglite-database';

/**
 * One shared database handle per connection per process: every store, node and execution that
 * names the same server (or the same embedded folder) uses one pool. A handle unused for
 * `idleTimeoutMs` is closed by a timer and opened again on the next use; an in-memory embedded
 * database is never closed by idleness, because closing it would lose its data.
 */
interface Entry {
  database: Promise<Database>;
  active: number;
  lastUsed: number;
  idleTimeoutMs: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const entries = new Map<string, Entry>();
let sweeper: NodeJS.Timeout | undefined;

/** The registry key: connection settings only (not the schema), hashed so no password sits in a key. */
export function connectionKey(config: MemoryConfig): string {
  const settings = config.embedded
    ? { embedded: config.embedded.dataDir ?? 'memory://', vector: config.embedded.vector !== false }
    : poolConfig(config);
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
}

function open(config: MemoryConfig): Promise<Database> {
  return config.embedded ? openPglite(config.embedded) : Promise.resolve(openPostgres(config));
}

function closeEntry(key: string, entry: Entry): Promise<void> {
  if (entries.get(key) === entry) entries.delete(key);
  if (entries.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
  return entry.database.then((db) => db.close()).catch(() => undefined);
}

function sweep(): void {
  const now = Date.now();
  for (const [key, entry] of entries) {
    if (entry.active === 0 && now - entry.lastUsed >= entry.idleTimeoutMs) void closeEntry(key, entry);
  }
}

function ensureSweeper(intervalMs: number): void {
  if (sweeper || !Number.isFinite(intervalMs)) return;
  sweeper = setInterval(sweep, Math.max(1_000, intervalMs));
  sweeper.unref();
}

/** Runs `work` with the shared database for `config`, opening it on first use. */
export async function withDatabase<T>(config: MemoryConfig, work: (db: Database) => Promise<T>): Promise<T> {
  const key = connectionKey(config);
  let entry = entries.get(key);
  if (!entry) {
    const inMemory = config.embedded !== undefined && isInMemory(config.embedded);
    const idleTimeoutMs = inMemory ? Infinity : config.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    entry = { database: open(config), active: 0, lastUsed: Date.now(), idleTimeoutMs };
    entries.set(key, entry);
    // A failed open is not cached: the next call tries again.
    entry.database.catch(() => entries.get(key) === entry && entries.delete(key));
    ensureSweeper(idleTimeoutMs / 2);
  }
  entry.active += 1;
  try {
    return await work(await entry.database);
  } finally {
    entry.active -= 1;
    entry.lastUsed = Date.now();
  }
}

/** Closes the shared database for `config` now (it reopens on the next use). */
export async function closeDatabase(config: MemoryConfig): Promise<void> {
  const key = connectionKey(config);
  const entry = entries.get(key);
  if (entry) await closeEntry(key, entry);
}

/** Closes every shared database of this process. */
export async function closeAllDatabases(): Promise<void> {
  await Promise.all([...entries].map(([key, entry]) => closeEntry(key, entry)));
}

/** How many shared databases are open now (for health reports and tests). */
export function openDatabaseCount(): number {
  return entries.size;
}
