#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { LtstError, openMemory, type MemoryConfig } from '../index';
import { renderMigrationScript } from './render-sql';

const USAGE = `Usage: ltst-memory <command> [options]

Commands:
  migrate   install or upgrade the LTST memory schema
  health    report the schema state as JSON (exit 1 when not ok)
  sql       print the migration SQL for a DBA to review or apply by hand

Connection (migrate, health):
  --url URL          postgres://user:password@host:port/database
                     (default: the PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD variables)
  --embedded DIR     use the embedded database (PGlite) in folder DIR

Options:
  --schema NAME      schema to use (default public)
  --dimensions N     embedding dimension, fixed at install (default 384)
  --no-vector        sql: leave out pgvector, the embedding column and its index
  --vector-schema S  sql: schema for the pgvector extension (default public)
  -h, --help         show this help
`;

function configFrom(values: Record<string, string | boolean | undefined>): MemoryConfig {
  const dimensions = values.dimensions === undefined ? undefined : Number(values.dimensions);
  const common = { schema: values.schema as string | undefined, dimensions };
  if (values.embedded) return { ...common, embedded: { dataDir: values.embedded as string } };
  return { ...common, connectionString: values.url as string | undefined };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      embedded: { type: 'string' },
      schema: { type: 'string' },
      dimensions: { type: 'string' },
      'no-vector': { type: 'boolean' },
      'vector-schema': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = configFrom(values);
  switch (command) {
    case 'sql':
      process.stdout.write(
        renderMigrationScript({
          schema: config.schema ?? 'public',
          dimensions: config.dimensions,
          vectorSchema: values['no-vector'] ? null : values['vector-schema'],
        }),
      );
      return 0;
    case 'migrate': {
      const store = openMemory(config);
      try {
        const report = await store.migrate();
        for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`);
        const applied = report.applied.length ? `applied ${report.applied.join(', ')}` : 'already up to date';
        process.stdout.write(`schema "${report.schema}" at version ${report.version}: ${applied}; semantic search ${report.semanticSearch ? 'enabled' : 'disabled'}\n`);
        return 0;
      } finally {
        await store.close();
      }
    }
    case 'health': {
      const store = openMemory(config);
      try {
        const report = await store.health();
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return report.ok ? 0 : 1;
      } finally {
        await store.close();
      }
    }
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof LtstError) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    } else {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
