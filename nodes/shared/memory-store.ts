import { createHash } from 'node:crypto';
import type { IExecuteFunctions } from 'n8n-workflow';
import { openMemory, type EmbedderConfig, type MemoryStore } from '../../src';
import { memoryConfigFromCredential, type LtstPostgresCredential } from './credential-config';

export type EmbeddingsSource = 'local' | 'openai' | 'none';

/** Stores already migrated in this process, by their configuration: migrate runs once per credential. */
const ready = new Map<string, Promise<MemoryStore>>();

async function embeddingsFor(ctx: IExecuteFunctions, source: EmbeddingsSource): Promise<EmbedderConfig> {
  if (source !== 'openai') return { provider: source };
  const api = await ctx.getCredentials<{ apiKey: string; baseUrl: string; model: string }>('ltstEmbeddingsApi');
  return { provider: 'openai', apiKey: api.apiKey, baseUrl: api.baseUrl || undefined, model: api.model };
}

/**
 * The memory store of this node's credential. Connections are shared per process by the core, so
 * opening a store per execution costs nothing; the schema is installed or upgraded on first use.
 */
export async function memoryStore(ctx: IExecuteFunctions, source: EmbeddingsSource): Promise<MemoryStore> {
  const credential = await ctx.getCredentials<LtstPostgresCredential & Record<string, unknown>>('ltstMemoryPostgres');
  const config = memoryConfigFromCredential(credential);
  const embeddings = await embeddingsFor(ctx, source);
  // Hashed: the identity holds the password and API key.
  const key = createHash('sha256').update(JSON.stringify({ config, embeddings })).digest('hex');
  let store = ready.get(key);
  if (!store) {
    const opened = openMemory({ ...config, embeddings });
    store = opened.migrate().then(() => opened);
    ready.set(key, store);
    store.catch(() => ready.delete(key));
  }
  return store;
}
