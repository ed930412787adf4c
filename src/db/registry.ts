import { createHash } from 'node:crypto';
import type { MemoryConfig } from '../config';
import type { Database } from './database';
import { openPostgres, poolConfig } from './pg-database';
import { embeddedFolder, isInMemory, openPglite } from './pglite-database';

/**
 * One shared database handle per connection per process: every store, node and execution that
 * names the same server (or the same embedded folder) uses one pool.
 *
 * A connection belongs to the stores using it (a store becomes a user at its first operation):
 * it closes when its last user releases it, once the work in flight on it has finished. A
 * connection unused for `idleTimeoutMs` is closed by a timer (never with work in flight) and
 * opened again on the next use; an in-memory embedded database never closes by idleness, since
 * that would lose its data. While a connection closes, new work waits and then opens a new one,
 * so one folder is never open twice.
 */
interface Connection {
  database: Promise<Database>;
  active: number;
  lastUsed: number;
  /** Set while closing: called when the last work in flight finishes. */
  onDrained?: () => void;
}

interface Slot {
  key: string;
  /** The open connection, taking new work. */
  connection?: Connection;
  /** A retired connection finishing its work and closing; new work waits for it. */
  closing?: Promise<void>;
  users: number;
  /** Bumped by closeAllDatabases: users of an earlier era hold nothing any more. */
  era: number;
  idleTimeoutMs: number;
}

/** A store's share of its connection: taken at its first operation, given back once by `release`. */
export class ConnectionUser {
  slot?: Slot;
  era = 0;

  constructor(private readonly config: MemoryConfig) {}

  run<T>(work: (db: Database) => Promise<T>): Promise<T> {
    return withDatabase(this.config, work, this);
  }

  /** Gives the connection back (a second call does nothing); the last user's release closes it. */
  async release(): Promise<void> {
    const slot = this.slot;
    this.slot = undefined;
    if (!slot || slot.era !== this.era || slots.get(slot.key) !== slot) return;
    slot.users -= 1;
    if (slot.users === 0) await retire(slot);
    forget(slot);
  }
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const slots = new Map<string, Slot>();
let sweeper: NodeJS.Timeout | undefined;

/**
 * The registry key: connection settings only (not the schema), hashed so no password sits in a
 * key. An embedded folder is keyed by its real path alone: one folder is one database, whatever
 * the spelling (its first opener's `vector` setting applies).
 */
export function connectionKey(config: MemoryConfig): string {
  let key = keys.get(config);
  if (key === undefined) keys.set(config, (key = computeKey(config)));
  return key;
}

/** Keys by config object: a store's every operation asks, and hashing (and a folder's realpath) once is enough. */
const keys = new WeakMap<MemoryConfig, string>();

function computeKey(config: MemoryConfig): string {
  const embedded = config.embedded;
  const settings = !embedded
    ? { ...poolConfig(config), preparedStatements: config.preparedStatements !== false }
    : isInMemory(embedded)
      ? { embedded: embedded.dataDir ?? 'memory://', vector: embedded.vector !== false }
      : { folder: embeddedFolder(embedded) };
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
}

function forget(slot: Slot): void {
  if (slot.connection || slot.closing || slot.users > 0 || slots.get(slot.key) !== slot) return;
  slots.delete(slot.key);
  if (slots.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** Takes the open connection out of service, waits for its work in flight, then closes it. */
function retire(slot: Slot): Promise<void> {
  const connection = slot.connection;
  if (!connection) return slot.closing ?? Promise.resolve();
  slot.connection = undefined;
  const closing = (async () => {
    if (connection.active > 0) await new Promise<void>((resolve) => (connection.onDrained = resolve));
    await connection.database.then((db) => db.close()).catch(() => undefined);
  })().then(() => {
    if (slot.closing === closing) slot.closing = undefined;
    forget(slot);
  });
  slot.closing = closing;
  return closing;
}

function sweep(): void {
  const now = Date.now();
  for (const slot of slots.values()) {
    const connection = slot.connection;
    if (connection && connection.active === 0 && now - connection.lastUsed >= slot.idleTimeoutMs) void retire(slot);
  }
}

function slotFor(key: string, config: MemoryConfig): Slot {
  let slot = slots.get(key);
  if (!slot) {
    const inMemory = config.embedded !== undefined && isInMemory(config.embedded);
    slot = { key, users: 0, era: 0, idleTimeoutMs: inMemory ? Infinity : config.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS };
    slots.set(key, slot);
    if (!sweeper && Number.isFinite(slot.idleTimeoutMs)) {
      sweeper = setInterval(sweep, Math.max(1_000, slot.idleTimeoutMs / 2));
      sweeper.unref();
    }
  }
  return slot;
}

function connect(slot: Slot, config: MemoryConfig): Connection {
  const database = config.embedded ? openPglite(config.embedded) : Promise.resolve(openPostgres(config));
  const connection: Connection = { database, active: 0, lastUsed: Date.now() };
  // A failed open is not kept: the next call tries again.
  database.catch(() => {
    if (slot.connection === connection) slot.connection = undefined;
    forget(slot);
  });
  return connection;
}

/** Runs `work` with the shared database for `config`, opening it on first use; `user` becomes one of its users. */
export async function withDatabase<T>(config: MemoryConfig, work: (db: Database) => Promise<T>, user?: ConnectionUser): Promise<T> {
  const key = connectionKey(config);
  let slot = slotFor(key, config);
  while (slot.closing) {
    await slot.closing;
    slot = slotFor(key, config);
  }
  if (user && (user.slot !== slot || user.era !== slot.era)) {
    user.slot = slot;
    user.era = slot.era;
    slot.users += 1;
  }
  const connection = (slot.connection ??= connect(slot, config));
  connection.active += 1;
  try {
    return await work(await connection.database);
  } finally {
    connection.active -= 1;
    connection.lastUsed = Date.now();
    if (connection.active === 0) connection.onDrained?.();
  }
}

/** Closes every shared database of this process, each after its work in flight; their users hold nothing afterwards. */
export async function closeAllDatabases(): Promise<void> {
  await Promise.all(
    [...slots.values()].map((slot) => {
      slot.users = 0;
      slot.era += 1;
      return retire(slot).then(() => forget(slot)); // forget: a slot without a connection has no retire to do it
    }),
  );
}

/** How many shared databases are open (or still closing) now, for health reports and tests. */
export function openDatabaseCount(): number {
  return [...slots.values()].filter((slot) => slot.connection || slot.closing).length;
}
