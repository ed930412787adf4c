import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * A PostgreSQL cluster of its own, for tests that stop, restart or break the server: `initdb` into
 * a temporary folder with the machine's binaries, its own port on 127.0.0.1, no Unix socket, trust
 * authentication (it listens on loopback only, and lives for one test file). It is stopped by its
 * postmaster's pid and its folder removed in every outcome: by destroy() in afterAll, and by a
 * detached reaper process if the test process ends without it (cluster-reaper.js).
 */
export interface ThrowawayCluster {
  readonly port: number;
  /** A connection string for `database` as the cluster's superuser, postgres. */
  url(database: string, applicationName?: string): string;
  /** Immediate shutdown (what a crash or failover looks like to clients); returns once the server is gone. */
  stop(): Promise<void>;
  /** Starts it again and waits until it accepts connections (after crash recovery). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

const run = promisify(execFile);
const DEFAULT_BINDIR = '/usr/lib/postgresql/15/bin';

/** The folder with initdb and pg_ctl (LTST_PG_BINDIR, else PostgreSQL 15's), or undefined when missing. */
export function postgresBinaries(): string | undefined {
  const bindir = process.env.LTST_PG_BINDIR ?? DEFAULT_BINDIR;
  return ['initdb', 'pg_ctl', 'postgres'].every((tool) => fs.existsSync(path.join(bindir, tool))) ? bindir : undefined;
}

/** initdb refuses to run as root: as root, run the tools as the postgres user. */
function asServerUser(bindir: string, tool: string, args: string[]): [string, string[]] {
  const binary = path.join(bindir, tool);
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The reaper stops the cluster and removes its folder when destroy() asks (SIGTERM), or by itself
 * once this process is gone however it ended; it runs detached, so it outlives a killed test.
 */
function startReaper(dataDir: string): { reap(): Promise<void> } {
  const reaper = spawn(process.execPath, [path.join(__dirname, 'cluster-reaper.js'), String(process.pid), dataDir], { detached: true, stdio: 'ignore' });
  reaper.unref();
  const exited = new Promise<void>((resolve) => reaper.once('exit', () => resolve()));
  return {
    reap: async () => {
      if (reaper.exitCode === null && reaper.signalCode === null) reaper.kill('SIGTERM');
      await exited;
    },
  };
}

export async function startThrowawayCluster(bindir: string, database: string): Promise<ThrowawayCluster> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-cluster-'));
  const reaper = startReaper(dataDir);
  const port = await freePort();
  const tool = (name: string, args: string[]) => run(...asServerUser(bindir, name, args));
  const cluster: ThrowawayCluster = {
    port,
    url: (name, applicationName) =>
      `postgres://postgres@127.0.0.1:${port}/${name}${applicationName ? `?application_name=${encodeURIComponent(applicationName)}` : ''}`,
    async stop() {
      await tool('pg_ctl', ['stop', '-m', 'immediate', '-w', '-t', '60', '-D', dataDir]);
    },
    async start() {
      await tool('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', path.join(dataDir, 'server.log')]);
    },
    destroy: () => reaper.reap(),
  };
  try {
    if (process.getuid?.() === 0) {
      const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' })));
      fs.chownSync(dataDir, uid, gid);
    }
    await tool('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    fs.appendFileSync(
      path.join(dataDir, 'postgresql.conf'),
      [
        `listen_addresses = '127.0.0.1'`,
        `port = ${port}`,
        `unix_socket_directories = ''`,
        `max_connections = 50`,
        `shared_buffers = 16MB`,
        // The machine never crashes under it, only the server: no fsync needed. synchronous_commit
        // stays on, or an immediate shutdown loses commits already acknowledged.
        `fsync = off`,
        `full_page_writes = off`,
        `deadlock_timeout = '100ms'`,
        '',
      ].join('\n'),
    );
    await cluster.start();
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`).finally(() => admin.end());
    const db = new pg.Client({ connectionString: cluster.url(database) });
    await db.connect();
    await db.query('CREATE EXTENSION vector').finally(() => db.end());
    return cluster;
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
}
