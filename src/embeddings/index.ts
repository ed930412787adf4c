import { LtstError } from '../errors';
import type { Embedder } from './embedder';
import { localEmbedder } from './local';
import { openAiCompatibleEmbedder } from './openai-compatible';

export type { Embedder } from './embedder';
export { localEmbedder, loadLocalModel, LOCAL_NATIVE_DIMENSIONS } from './local';
export { openAiCompatibleEmbedder, acceptsDimensions, DEFAULT_OPENAI_BASE_URL, type OpenAiCompatibleOptions } from './openai-compatible';

export type EmbedderConfig =
  | { provider: 'local' }
  | { provider: 'none' }
  | { provider: 'openai'; apiKey: string; baseUrl?: string; model: string };

/** The embedder for a store of `dimensions`, or undefined for `none` (memory without semantic search). */
export function createEmbedder(config: EmbedderConfig, dimensions: number): Embedder | undefined {
  switch (config.provider) {
    case 'none':
      return undefined;
    case 'local':
      return localEmbedder(dimensions);
    case 'openai':
      return openAiCompatibleEmbedder({ apiKey: config.apiKey, baseUrl: config.baseUrl, model: config.model, dimensions });
    default:
      throw new LtstError('INVALID_CONFIG', `Unknown embedding provider "${(config as { provider?: unknown }).provider}"`, {
        hint: 'Use one of: local, openai, none.',
      });
  }
}
