import pg from 'pg';
import type { ServerConnectionConfig } from '../config';
import { connectionError, type ConnectionTarget } from './connection-errors';
import type { Database, Queryable, QueryResult } from './database';

const DEFAULT_MAX_CONNECTIONS = 10;

function toQueryable(client: pg.PoolClient): Queryable {
  return {
    async query<Row>(text: string, values?: unknown[]): Promise<QueryResult<Row>> {
      const result = await client.query(text, values);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
    async exec(script: string) {
      await client.query(script);
    },
  };
}

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
    connectionTimeoutMillis: 15_000,
    // An idle pool must not keep n8n or the CLI alive.
    allowExitOnIdle: true,
  };
}

/** A node-postgres pool behind the driver seam. */
export function openPostgres(config: ServerConnectionConfig): Database {
  const target = describeServer(config);
  const pool = new pg.Pool(poolConfig(config));
  // An idle client losing its server must not crash the process; the next checkout reconnects.
  pool.on('error', () => undefined);

  async function checkout(): Promise<pg.PoolClient> {
    try {
      return await pool.connect();
    } catch (error) {
      throw connectionError(target, error);
    }
  }

  async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await checkout();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  }

  return {
    kind: 'postgres',
    query: (text, values) => withClient((client) => toQueryable(client).query(text, values)),
    exec: (script) => withClient((client) => toQueryable(client).exec(script)),
    async transaction(work) {
      const client = await checkout();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(toQueryable(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A connection that cannot even roll back is destroyed, not returned to the pool.
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
