import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot, runningFromDist } from '../db/package-root';

export interface Migration {
  version: number;
  name: string;
  /** The SQL template with {{schema}}, {{vector_schema}} and {{dimensions}} placeholders. */
  template: string;
  /** sha256 of the template: an applied migration whose file later changes is refused. */
  checksum: string;
  /** Applied only once pgvector is installed. */
  requiresVector: boolean;
}

export interface RenderValues {
  /** Quoted schema name (from quoteSchema). */
  schema: string;
  /** Quoted schema of the pgvector extension. */
  vectorSchema: string;
  dimensions: number;
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The migrations folder: copied to dist/migrations by the build, read from src/ in development. */
export function migrationsDir(): string {
  return runningFromDist() ? path.join(packageRoot(), 'dist', 'migrations') : path.join(__dirname, 'migrations');
}

let cached: Migration[] | undefined;

/** Every migration this code knows, in version order. */
export function loadMigrations(): Migration[] {
  if (cached) return cached;
  const dir = migrationsDir();
  cached = fs
    .readdirSync(dir)
    .map((file) => ({ file, match: FILE_NAME.exec(file) }))
    .filter((entry): entry is { file: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ file, match }) => {
      const template = fs.readFileSync(path.join(dir, file), 'utf8');
      return {
        version: Number(match[1]),
        name: match[2],
        template,
        checksum: createHash('sha256').update(template).digest('hex'),
        requiresVector: /^-- requires: vector$/m.test(template),
      };
    })
    .sort((a, b) => a.version - b.version);
  return cached;
}

export function latestVersion(): number {
  const all = loadMigrations();
  return all.length ? all[all.length - 1].version : 0;
}

export function renderMigration(migration: Migration, values: RenderValues): string {
  return migration.template
    .replaceAll('{{schema}}', values.schema)
    .replaceAll('{{vector_schema}}', values.vectorSchema)
    .replaceAll('{{dimensions}}', String(values.dimensions));
}
