#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { LtstError, openMemory, type MemoryConfig, type MemoryStore } from '../index';
import { jsonlMessages } from './jsonl-messages';
import { renderMigrationScript } from './render-sql';

const USAGE = `Usage: ltst-memory <command> [options]

Commands:
  migrate                 install or upgrade the LTST memory schema
  health                  report the schema state and usage as JSON (exit 1 when not ok)
  sql                     print the migration SQL for a DBA to review or apply by hand
  import <source>         import existing memory: conversation_memory or n8n_chat_histories
  import messages FILE    import a JSON Lines file, one storeMessages message per line
  cleanup                 remove expired cache and context entries
  archive                 archive sessions inactive for --inactive-days (default: memory_retention_days)
  backfill                embed stored messages that have no embedding (local model)

Connection (every command but sql):
  --url URL               postgres://user:password@host:port/database
                          (default: the PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD variables)
  --embedded DIR          use the embedded database (PGlite) in folder DIR

Options:
  --schema NAME           schema to use (default public)
  --dimensions N          embedding dimension, fixed at install (default 384)
  --no-vector             sql: leave out pgvector, the embedding column and its index
  --vector-schema S       sql: schema for the pgvector extension (default public)
  --table T               import: source table (default: the source's name)
  --user-id U             import: owner of the imported sessions (default: a user_id column, else the session id);
                          backfill: only this user's messages
  --inactive-days N       archive: days without activity
  --batch-size N          backfill: messages per round (default 100); import messages: per transaction (default 2000)
  --rebuild-vector-index  import messages: drop the HNSW index and build it once after the load
  -h, --help              show this help
`;

type Values = Record<string, string | boolean | undefined>;

function configFrom(values: Values): MemoryConfig {
  const dimensions = values.dimensions === undefined ? undefined : Number(values.dimensions);
  const common = { schema: values.schema as string | undefined, dimensions };
  if (values.embedded) return { ...common, embedded: { dataDir: values.embedded as string } };
  return { ...common, connectionString: values.url as string | undefined };
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** Commands that work on a store: each returns the exit code. */
const STORE_COMMANDS: Record<string, (store: MemoryStore, values: Values, args: string[]) => Promise<number>> = {
  async migrate(store) {
    const report = await store.migrate();
    for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`);
    const applied = report.applied.length ? `applied ${report.applied.join(', ')}` : 'already up to date';
    process.stdout.write(`schema "${report.schema}" at version ${report.version}: ${applied}; semantic search ${report.semanticSearch ? 'enabled' : 'disabled'}\n`);
    return 0;
  },
  async health(store) {
    const report = await store.health();
    print(report);
    return report.ok ? 0 : 1;
  },
  async import(store, values, args) {
    const options = { table: values.table as string | undefined, userId: values['user-id'] as string | undefined };
    const source = args[0];
    if (source === 'messages' && args[1]) {
      const size = values['batch-size'];
      print(await store.importMessages(jsonlMessages(args[1]), { batchSize: size === undefined ? undefined : Number(size), rebuildVectorIndex: values['rebuild-vector-index'] === true }));
    } else if (source === 'conversation_memory') print(await store.importConversationMemory(options));
    else if (source === 'n8n_chat_histories') print(await store.importN8nChatHistories(options));
    else {
      process.stderr.write(`import needs a source: conversation_memory, n8n_chat_histories, or messages and a file.\n`);
      return 2;
    }
    return 0;
  },
  async cleanup(store) {
    print(await store.cleanExpired());
    return 0;
  },
  async backfill(store, values) {
    const size = values['batch-size'];
    print(await store.backfillEmbeddings({ batchSize: size === undefined ? undefined : Number(size), userId: values['user-id'] as string | undefined }));
    return 0;
  },
  async archive(store, values) {
    const days = values['inactive-days'];
    print(await store.archiveSessions({ inactiveDays: days === undefined ? undefined : Number(days) }));
    return 0;
  },
};

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
      table: { type: 'string' },
      'user-id': { type: 'string' },
      'inactive-days': { type: 'string' },
      'batch-size': { type: 'string' },
      'rebuild-vector-index': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = configFrom(values);
  if (command === 'sql') {
    process.stdout.write(renderMigrationScript({ schema: config.schema ?? 'public', dimensions: config.dimensions, vectorSchema: values['no-vector'] ? null : values['vector-schema'] }));
    return 0;
  }
  const run = Object.hasOwn(STORE_COMMANDS, command) ? STORE_COMMANDS[command] : undefined;
  if (!run) {
    process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  const store = openMemory(config);
  try {
    return await run(store, values, args);
  } finally {
    await store.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const hint = error instanceof LtstError && error.hint ? `hint: ${error.hint}\n` : '';
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n${hint}`);
    process.exitCode = 1;
  },
);
