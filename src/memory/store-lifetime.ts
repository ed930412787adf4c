import type { MemoryConfig } from '../config';
import type { Database } from '../db/database';
import { ConnectionUser } from '../db/registry';

/** Counts calls in flight and tells when none is left. */
class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.count += 1;
    try {
      return await work();
    } finally {
      this.count -= 1;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  settled(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** The operations of every store of this process, so closeAllMemory can let them finish first. */
const everyStore = new InFlight();

/** Resolves when no store operation of this process is running. */
export function allStoresSettled(): Promise<void> {
  return everyStore.settled();
}

/**
 * A store's share of the shared connection and its operations in flight. The store becomes a user
 * of the connection at its first operation; close() lets its running operations finish, writes what
 * they buffered, then gives the connection back once (the last user's close closes it). A store used
 * after close() takes its share again, transparently, and needs another close().
 */
export class StoreLifetime {
  private readonly user: ConnectionUser;
  private readonly running = new InFlight();
  private closing?: Promise<void>;

  constructor(config: MemoryConfig) {
    this.user = new ConnectionUser(config);
  }

  readonly run = <T>(work: (db: Database) => Promise<T>): Promise<T> => this.user.run(work);

  /** The same operations, counted while they run. */
  track<T extends Record<string, unknown>>(ops: T): T {
    const tracked: Record<string, unknown> = {};
    for (const [name, op] of Object.entries(ops)) {
      tracked[name] = (...args: unknown[]) => everyStore.track(() => this.running.track(() => (op as (...a: unknown[]) => Promise<unknown>)(...args)));
    }
    return tracked as T;
  }

  /** Concurrent calls share one close; a call after it finished has nothing left to give back. */
  close(flush: () => Promise<void>): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.running.settled();
        await flush();
      } finally {
        await this.user.release();
      }
    })().finally(() => (this.closing = undefined));
    return this.closing;
  }
}
