import { createHash } from 'node:crypto';
import type { IExecuteFunctions } from 'n8n-workflow';
import { openMemory, type EmbedderConfig, type MemoryConfig, type MemoryStore, type MigrationReport } from '../../src';
import { connectedEmbedder } from './connected-embeddings';
import { memoryConfigFromCredential, type LtstPostgresCredential } from './credential-config';

export type EmbeddingsSource = 'local' | 'openai' | 'connected' | 'none';

// Hashed: the identities hold the password and API key.
const identity = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/** Schema installs or upgrades done in this process, by database and schema: migrate runs once per credential. */
const migrations = new Map<string, Promise<MigrationReport>>();

/** Stores of a configured embedder, kept for the process (their metric buffers and embedder load once). */
const stores = new Map<string, MemoryStore>();

/** Installs or upgrades the schema once per process and database (a failure is tried again next time). */
export function migrateOnce(config: MemoryConfig): Promise<MigrationReport> {
  const key = identity(config);
  let report = migrations.get(key);
  if (!report) {
    report = openMemory({ ...config, embeddings: { provider: 'none' } }).migrate();
    migrations.set(key, report);
    report.catch(() => migrations.delete(key));
  }
  return report;
}

async function embeddingsFor(ctx: IExecuteFunctions, source: 'local' | 'openai' | 'none'): Promise<EmbedderConfig> {
  if (source !== 'openai') return { provider: source };
  const api = await ctx.getCredentials<{ apiKey: string; baseUrl: string; model: string }>('ltstEmbeddingsApi');
  return { provider: 'openai', apiKey: api.apiKey, baseUrl: api.baseUrl || undefined, model: api.model };
}

/**
 * The memory store of this node's credential, its schema installed or upgraded on first use.
 * Connections are shared per process by the core, so a store per execution costs nothing: a
 * connected Embeddings sub-node belongs to one execution and gets its own.
 */
export async function memoryStore(ctx: IExecuteFunctions, source: EmbeddingsSource): Promise<MemoryStore> {
  const credential = await ctx.getCredentials<LtstPostgresCredential & Record<string, unknown>>('ltstMemoryPostgresApi');
  const config = memoryConfigFromCredential(credential);
  const { dimensions } = await migrateOnce(config);
  if (source === 'connected') return openMemory({ ...config, embeddings: await connectedEmbedder(ctx, dimensions) });
  const embeddings = await embeddingsFor(ctx, source);
  const key = identity({ config, embeddings });
  let store = stores.get(key);
  if (!store) stores.set(key, (store = openMemory({ ...config, embeddings })));
  return store;
}
