import os from 'node:os';
import path from 'node:path';
import type { MemoryConfig, SslConfig } from '../../src';

/** The fields of the LTST Memory Postgres credential, as n8n hands them to a node. */
export interface LtstPostgresCredential {
  connection?: 'server' | 'embedded';
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  ssl?: 'disable' | 'allow' | 'require' | 'verify-full';
  caCertificate?: string;
  ignoreSslIssues?: boolean;
  maxConnections?: number;
  schema?: string;
  dataDir?: string;
  dimensions?: number;
  /** The operator's documents table for Retrieve Context, and its optional user column. */
  documentsTable?: string;
  documentsUserColumn?: string;
}

/** The embedded database's folder when the credential leaves it empty: beside n8n's own data. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const userFolder = env.N8N_USER_FOLDER ?? os.homedir();
  return path.join(userFolder, '.n8n', 'ltst-memory');
}

/**
 * libpq's SSL modes for node-postgres: `allow` and `disable` connect in clear text (node-postgres
 * cannot fall back from one to the other), `require` encrypts without checking the certificate,
 * `verify-full` checks it against the CA given (or the system's) unless unauthorized certificates
 * are allowed.
 */
export function sslConfig(credential: LtstPostgresCredential): SslConfig {
  switch (credential.ssl ?? 'disable') {
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      return { rejectUnauthorized: credential.ignoreSslIssues !== true, ca: credential.caCertificate || undefined };
    default:
      return false;
  }
}

/** The documents table is the credential's (set once by whoever sets up the connection), never a node parameter's. */
function documentsConfig(credential: LtstPostgresCredential): MemoryConfig['documents'] {
  const table = credential.documentsTable?.trim();
  if (!table) return undefined;
  return { table, userColumn: credential.documentsUserColumn?.trim() || undefined };
}

/** The core's configuration for a credential: a server, or the embedded database. */
export function memoryConfigFromCredential(credential: LtstPostgresCredential, env: NodeJS.ProcessEnv = process.env): MemoryConfig {
  const common = { schema: credential.schema || undefined, dimensions: credential.dimensions || undefined, documents: documentsConfig(credential) };
  if (credential.connection === 'embedded') {
    return { ...common, embedded: { dataDir: credential.dataDir || defaultDataDir(env) } };
  }
  return {
    ...common,
    // Empty fields fall back to the PG* environment variables of the n8n process, as libpq does.
    host: credential.host || undefined,
    port: credential.port || undefined,
    database: credential.database || undefined,
    user: credential.user || undefined,
    password: credential.password || undefined,
    ssl: sslConfig(credential),
    maxConnections: credential.maxConnections || undefined,
  };
}
