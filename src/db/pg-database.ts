import { createHash } from 'node:crypto';
import pg from 'pg';
import type { ServerConnectionConfig } from '../config';
import { connectionError, faultError, type ConnectionTarget } from './connection-errors';
import { errorCode } from '../errors';
import { setLocalStatements, type Database, type Queryable, type QueryOptions, type QueryResult, type TransactionSettings } from './database';
import { PREPARED_STATEMENT_CODES, PreparedStatementLostError, UnsentStatementError, faultKind, isTransientConnectFailure } from './fault-classification';
import { backoffMs, retryWithin, sleep } from './retry';
import { applyScopeSql, currentScope, scopeSettings, type ScopeSettings } from './scope';

const DEFAULT_MAX_CONNECTIONS = 10;
const CONNECTION_TIMEOUT_MS = 15_000;
/** How long a checkout keeps reconnecting to a server that went away (a restart, a failover) before it fails. */
const CONNECT_RETRY_WINDOW_MS = 5_000;
/** Tries of one transaction: serialization failures, deadlocks and connections lost before COMMIT. */
const TRANSACTION_ATTEMPTS = 4;
/** Tries of one statement outside a transaction: only when it was provably not applied. */
const STATEMENT_ATTEMPTS = 3;
/** Prepared statements a connection keeps at most; more are sent unnamed (a bound on the server's memory). */
const MAX_PREPARED_PER_CONNECTION = 100;

/** Host, port, database and user as node-postgres resolves them (connection string, then PG* variables). */
export function describeServer(config: ServerConnectionConfig): ConnectionTarget {
  const resolved = new pg.Client(poolConfig(config));
  return { description: `PostgreSQL at ${resolved.host}:${resolved.port} (database "${resolved.database}", user "${resolved.user}")` };
}

/** The pool settings for a server; also the registry's identity of that server. */
export function poolConfig(config: ServerConnectionConfig): pg.PoolConfig {
  return {
    connectionString: config.connectionString,
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl: config.ssl,
    max: config.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
    // A server that vanished without closing its sockets (a failover, a cut network) is noticed.
    keepAlive: true,
    // An idle pool must not keep n8n or the CLI alive.
    allowExitOnIdle: true,
  };
}

/**
 * A node-postgres pool behind the driver seam. No database fault may reach the process: every
 * client has an error listener for its whole life, a client that failed is dropped from the
 * pool, and each operation either is retried where that is provably safe or fails with a typed,
 * retryable LtstError.
 */
export function openPostgres(config: ServerConnectionConfig): Database {
  const target = describeServer(config);
  const settings = poolConfig(config);
  const pool = new pg.Pool(settings);
  /** Clients whose connection is gone: nothing more is sent on them, and they leave the pool. */
  const lost = new WeakSet<object>();
  /**
   * The data scope each client's session holds (ltst.scope, ltst.user_ids; src/db/scope.ts). A
   * client is given the caller's scope only when it holds another, so one user's chat turn costs no
   * extra round trip; after any failure the scope is unknown and set again on the next use.
   */
  const scopes = new WeakMap<object, string>();
  /**
   * Whether statements asked to be kept are sent as named prepared statements, and which names each
   * client's session holds. The first one a session turns out not to have (a pooler in transaction
   * mode that does not keep them) turns them off for this pool: the work is tried again unnamed.
   */
  let preparing = config.preparedStatements !== false;
  const preparedNames = new WeakMap<object, Set<string>>();
  let reachedServer = false;
  let closed = false;

  // The pool listens to a client only while it is idle (and then drops it on error); this
  // listener covers the rest of its life: from checkout to release, and between statements.
  pool.on('connect', (client) => {
    reachedServer = true;
    client.on('error', () => lost.add(client));
    client.on('end', () => lost.add(client));
  });
  pool.on('error', () => undefined);

  const connectBudget = Math.min(CONNECT_RETRY_WINDOW_MS, settings.connectionTimeoutMillis ?? CONNECTION_TIMEOUT_MS);
  async function checkout(): Promise<pg.PoolClient> {
    try {
      const mayRetry = (error: unknown) => !closed && isTransientConnectFailure(error, reachedServer);
      return await retryWithin(() => pool.connect(), mayRetry, connectBudget);
    } catch (error) {
      throw connectionError(target, error);
    }
  }

  /** The name to prepare `text` under on this client, or undefined to send it unnamed. */
  function preparedName(client: pg.PoolClient, text: string): string | undefined {
    if (!preparing) return undefined;
    const name = `ltst_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    let names = preparedNames.get(client);
    if (!names) preparedNames.set(client, (names = new Set()));
    if (!names.has(name) && names.size >= MAX_PREPARED_PER_CONNECTION) return undefined;
    names.add(name);
    return name;
  }

  /** Sends a statement, unless its client is already known to be lost: then it provably was not sent. */
  async function send(client: pg.PoolClient, text: string, values?: unknown[], options?: QueryOptions): Promise<pg.QueryResult> {
    if (lost.has(client)) throw new UnsentStatementError();
    const name = options?.prepare && values !== undefined ? preparedName(client, text) : undefined;
    if (name === undefined) return client.query(text, values);
    try {
      return await client.query({ name, text, values });
    } catch (error) {
      if (!PREPARED_STATEMENT_CODES.has(errorCode(error) ?? '')) throw error;
      preparing = false;
      throw new PreparedStatementLostError(error);
    }
  }

  /** Set at session level, outside any transaction: a rollback cannot undo it. */
  async function applyScope(client: pg.PoolClient, settings: ScopeSettings): Promise<void> {
    if (scopes.get(client) === settings.key) return;
    scopes.delete(client);
    await send(client, applyScopeSql(false), [settings.scope, settings.userIds]);
    scopes.set(client, settings.key);
  }

  function queryable(client: pg.PoolClient): Queryable {
    return {
      async query<Row>(text: string, values?: unknown[], options?: QueryOptions): Promise<QueryResult<Row>> {
        const result = await send(client, text, values, options);
        return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
      },
      async exec(script: string) {
        await send(client, script);
      },
    };
  }

  /** Gives the client back; one that lost its connection (or may be mid-transaction) is destroyed. */
  function release(client: pg.PoolClient, broken?: unknown): void {
    const dead = broken !== undefined || lost.has(client);
    client.release(dead ? (broken instanceof Error ? broken : new Error('connection lost')) : undefined);
  }

  /** One statement outside a transaction: retried only when it was provably not applied. */
  async function statement<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const settings = scopeSettings(currentScope());
    for (let attempt = 1; ; attempt++) {
      const client = await checkout();
      let result: T;
      let sent = false;
      try {
        await applyScope(client, settings);
        sent = true;
        result = await work(queryable(client));
      } catch (error) {
        scopes.delete(client);
        const kind = faultKind(error, lost.has(client));
        release(client, kind === 'connection' ? error : undefined);
        if (kind === undefined) throw error;
        // Never sent (the connection failed before, or while its scope was set), or rolled back by the server (serialization failure, deadlock).
        const notApplied = !sent || error instanceof UnsentStatementError || kind === 'serialization';
        if (!notApplied || attempt >= STATEMENT_ATTEMPTS) throw faultError(target, error, kind, 'statement', attempt);
        await sleep(backoffMs(attempt - 1, 20, 500));
        continue;
      }
      release(client);
      return result;
    }
  }

  /**
   * One try of a transaction. Throws a TransactionFault when the whole transaction may be tried
   * again (the server rolled it back) or ended ambiguously (lost during COMMIT).
   */
  async function transactionOnce<T>(work: (tx: Queryable) => Promise<T>, settings: ScopeSettings, local?: TransactionSettings): Promise<T> {
    const client = await checkout();
    let committing = false;
    let result: T;
    try {
      // Before BEGIN: the work may start with SET TRANSACTION, which must come first in its transaction.
      await applyScope(client, settings);
      await send(client, ['BEGIN', ...setLocalStatements(local)].join('; '));
      result = await work(queryable(client));
      committing = true;
      await send(client, 'COMMIT');
    } catch (error) {
      scopes.delete(client);
      const kind = faultKind(error, lost.has(client));
      let broken = kind === 'connection' ? error : undefined;
      // A connection that cannot even roll back is destroyed, not returned to the pool.
      if (broken === undefined) await send(client, 'ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
      release(client, broken);
      if (kind === undefined) throw error;
      // COMMIT sent and no answer: it may have committed. Anything earlier the server rolled back.
      const ambiguous = kind === 'connection' && committing && !(error instanceof UnsentStatementError);
      throw new TransactionFault(error, kind, ambiguous);
    }
    release(client);
    return result;
  }

  return {
    kind: 'postgres',
    query: (text, values, options) => statement((tx) => tx.query(text, values, options)),
    exec: (script) => statement((tx) => tx.exec(script)),
    async transaction(work, local) {
      const settings = scopeSettings(currentScope());
      for (let attempt = 1; ; attempt++) {
        try {
          return await transactionOnce(work, settings, local);
        } catch (error) {
          if (!(error instanceof TransactionFault)) throw error;
          if (error.ambiguous) throw faultError(target, error.fault, error.kind, 'commit', attempt);
          if (attempt >= TRANSACTION_ATTEMPTS) throw faultError(target, error.fault, error.kind, 'transaction', attempt);
          await sleep(backoffMs(attempt - 1, 20, 500));
        }
      }
    },
    close: () => {
      closed = true;
      return pool.end();
    },
  };
}

/** A transaction that failed by a database fault, with whether it may have committed. */
class TransactionFault extends Error {
  constructor(
    readonly fault: unknown,
    readonly kind: 'connection' | 'serialization',
    readonly ambiguous: boolean,
  ) {
    super('transaction fault');
  }
}
