import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite, type PGliteOptions, type Transaction, type Extension } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { EmbeddedConfig } from '../config';
import { LtstError } from '../errors';
import { connectionError } from './connection-errors';
import { setLocalStatements, type Database, type Queryable, type QueryResult } from './database';
import { lockFolder, type FolderLock } from './folder-lock';
import { packageRoot, runningFromDist } from './package-root';
import { applyScopeSql, currentScope, scopeSettings, type ScopeSettings } from './scope';
import { asTextValues } from './vectors';

/**
 * PGlite connects as the superuser postgres, whom row-level security never stops: the work of
 * users (and work without a scope) runs as this role instead, which can read and write every table
 * but is held by the policies. Work for all users (maintenance, migrations) stays postgres.
 */
export const EMBEDDED_APP_ROLE = 'ltst_app';

const CREATE_APP_ROLE = `DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${EMBEDDED_APP_ROLE}') THEN
    CREATE ROLE ${EMBEDDED_APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
  IF NOT pg_has_role('${EMBEDDED_APP_ROLE}', 'pg_write_all_data', 'MEMBER') THEN
    GRANT pg_read_all_data, pg_write_all_data TO ${EMBEDDED_APP_ROLE};
  END IF;
END $$`;

/**
 * One PGlite session serves every caller: each call takes it alone, and gives it the caller's scope
 * first when it holds another (at session level, outside any transaction, so a rollback keeps it).
 */
function scopedSession(db: PGlite) {
  let tail: Promise<unknown> = Promise.resolve();
  let held: string | undefined;
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work);
    tail = result.catch(() => undefined);
    return result;
  };
  return <T>(settings: ScopeSettings, work: () => Promise<T>): Promise<T> =>
    exclusive(async () => {
      try {
        if (held !== settings.key) {
          held = undefined;
          await db.query(applyScopeSql(true), [settings.scope, settings.userIds, settings.scope === 'all' ? 'none' : EMBEDDED_APP_ROLE]);
          held = settings.key;
        }
        return await work();
      } catch (error) {
        held = undefined;
        throw error;
      }
    });
}

type PGliteLike = PGlite | Transaction;

function toQueryable(db: PGliteLike): Queryable {
  return {
    async query<Row>(text: string, values?: unknown[]): Promise<QueryResult<Row>> {
      const result = await db.query<Row>(text, asTextValues(values));
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(script: string) {
      await db.exec(script);
    },
  };
}

/**
 * In the bundle there is no node_modules: PGlite's wasm, its file-system image and the pgvector
 * archive are copied to dist/assets/pglite by the build and handed to PGlite explicitly.
 */
async function bundledAssets(withVector: boolean): Promise<Partial<PGliteOptions>> {
  if (!runningFromDist()) return { extensions: withVector ? { vector } : {} };
  const dir = path.join(packageRoot(), 'dist', 'assets', 'pglite');
  const read = (name: string) => fs.readFileSync(path.join(dir, name));
  const bundledVector: Extension = {
    name: 'vector',
    setup: async (_pg, emscriptenOpts) => ({ emscriptenOpts, bundlePath: pathToFileURL(path.join(dir, 'vector.tar.gz')) }),
  };
  return {
    pgliteWasmModule: await WebAssembly.compile(read('pglite.wasm')),
    initdbWasmModule: await WebAssembly.compile(read('initdb.wasm')),
    fsBundle: new Blob([read('pglite.data')]),
    extensions: withVector ? { vector: bundledVector } : {},
  };
}

/** True for an in-memory embedded database (no folder on disk). */
export function isInMemory(config: EmbeddedConfig): boolean {
  return !config.dataDir || config.dataDir.startsWith('memory://');
}

/** The connection target named in errors: the folder as the user wrote it. */
const target = (config: EmbeddedConfig) => ({ description: `the embedded database (${isInMemory(config) ? 'memory' : path.resolve(config.dataDir as string)})` });

/**
 * The real path of an embedded folder, created if missing, so `dir`, `dir/`, `./dir` and a
 * symlink to it name one database (two PGlite instances on one folder lose data).
 */
export function embeddedFolder(config: EmbeddedConfig): string {
  try {
    const folder = path.resolve(config.dataDir as string);
    fs.mkdirSync(folder, { recursive: true });
    return fs.realpathSync(folder);
  } catch (error) {
    throw connectionError(target(config), error);
  }
}

/** The embedded PostgreSQL (PGlite, with pgvector unless disabled) behind the driver seam; a folder is locked while open. */
export async function openPglite(config: EmbeddedConfig): Promise<Database> {
  const folder = isInMemory(config) ? undefined : embeddedFolder(config);
  let lock: FolderLock | undefined;
  let db: PGlite;
  try {
    if (folder) lock = lockFolder(folder);
    const options = await bundledAssets(config.vector !== false);
    db = await PGlite.create({ ...options, dataDir: folder });
    await db.exec(CREATE_APP_ROLE).catch(async (error: unknown) => {
      await db.close().catch(() => undefined);
      throw error;
    });
  } catch (error) {
    lock?.release();
    throw error instanceof LtstError ? error : connectionError(target(config), error);
  }
  const self = toQueryable(db);
  const scoped = scopedSession(db);
  return {
    kind: 'pglite',
    query: (text, values) => scoped(scopeSettings(currentScope()), () => self.query(text, values)),
    exec: (script) => scoped(scopeSettings(currentScope()), () => self.exec(script)),
    transaction: (work, settings) =>
      scoped(scopeSettings(currentScope()), () =>
        db.transaction(async (tx) => {
          // PGlite begins the transaction itself: its settings follow as the first statement.
          const sets = setLocalStatements(settings);
          if (sets.length > 0) await tx.exec(sets.join('; '));
          return work(toQueryable(tx));
        }),
      ),
    close: () => db.close().finally(() => lock?.release()),
  };
}
