import OpenAI from 'openai';
import { LtstError } from '../errors';
import { redactedError } from '../redact';
import type { Embedder } from './embedder';

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

export interface OpenAiCompatibleOptions {
  apiKey: string;
  /** The API root including its version, e.g. `https://api.openai.com/v1` (the default) or `http://localhost:11434/v1`. */
  baseUrl?: string;
  model: string;
  /** The store's vector dimensions: requested from models that accept `dimensions`, checked for all. */
  dimensions: number;
  /** Inputs per request (default 96). */
  batchSize?: number;
  /** Retries of one request after 429, 5xx or a dropped connection (default 5). */
  maxRetries?: number;
  /** First backoff delay in ms, doubled on each retry (default 500). */
  retryBaseDelayMs?: number;
  /** Longest wait between retries in ms, also the cap on Retry-After (default 30000). */
  maxRetryDelayMs?: number;
  /** Per-request timeout in ms (default 60000). */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

/** OpenAI's text-embedding-3 models can shorten their vectors; older and other models cannot. */
export function acceptsDimensions(model: string): boolean {
  return /text-embedding-3/.test(model);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds the server asked us to wait (Retry-After-Ms, Retry-After seconds or date), if any. */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function retryable(error: unknown): boolean {
  if (error instanceof OpenAI.APIConnectionTimeoutError) return true;
  if (error instanceof OpenAI.APIConnectionError) {
    // A refused or unresolvable address will not start answering in a second; a reset might.
    const text = String(systemCode(error) ?? '');
    return !['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(text);
  }
  return error instanceof OpenAI.APIError && typeof error.status === 'number' && (error.status === 429 || error.status >= 500);
}

/** The Node system error code (ECONNREFUSED, ...) somewhere in an error's cause chain. */
function systemCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return e.code;
    const nested = (e as { errors?: unknown[] }).errors; // AggregateError (IPv4 and IPv6 both refused)
    if (Array.isArray(nested) && nested.length) return systemCode(nested[0]);
  }
  return undefined;
}

/** The innermost message of an error's cause chain ("bad port", "getaddrinfo ENOTFOUND x"). */
function rootMessage(error: unknown): string {
  let e = error as { message?: string; cause?: unknown };
  for (let depth = 0; e?.cause instanceof Error && depth < 5; depth++) e = e.cause as typeof e;
  return e?.message ?? String(error);
}

/**
 * The provider's failure as an LtstError that says what to do. Its cause is a masked copy: an API
 * error holds the answer's body and headers, which some gateways fill with the request's own
 * Authorization header.
 */
function toLtstError(error: unknown, model: string, baseUrl: string): LtstError {
  if (error instanceof LtstError) return error;
  const cause = redactedError(error);
  if (error instanceof OpenAI.APIConnectionError) {
    const code = systemCode(error);
    const timedOut = error instanceof OpenAI.APIConnectionTimeoutError;
    return new LtstError('CONNECTION_FAILED', `Cannot reach the embeddings API at ${baseUrl}: ${timedOut ? 'request timed out' : (code ?? rootMessage(error))}`, {
      hint: 'Check the base URL (it usually ends in /v1), that the server is running and reachable from n8n, and any proxy or firewall.',
      sqlState: code,
      cause,
    });
  }
  if (error instanceof OpenAI.APIError) {
    const status = error.status;
    const detail = (error.error as { message?: string } | undefined)?.message ?? error.message;
    if (status === 401) {
      return new LtstError('INVALID_CONFIG', `The embeddings API at ${baseUrl} rejected the API key (401): ${detail}`, {
        hint: 'API key rejected: check the API key in the credentials (no spaces, not revoked, for this provider).',
        cause,
      });
    }
    if (status === 403) {
      return new LtstError('INVALID_CONFIG', `The API key may not use embedding model "${model}" at ${baseUrl} (403): ${detail}`, {
        hint: 'Give the key (or its project) access to this model, or choose a model it may use.',
        cause,
      });
    }
    if (status === 404) {
      return new LtstError('INVALID_CONFIG', `Embedding model "${model}" not found at ${baseUrl} (404): ${detail}`, {
        hint: `Check the model name (e.g. text-embedding-3-small) and that the base URL points to the API root ending in /v1.`,
        cause,
      });
    }
    return new LtstError('QUERY_FAILED', `The embeddings API at ${baseUrl} failed for model "${model}" (${status ?? 'no status'}): ${detail}`, {
      hint: status === 429 ? 'Rate limit or quota exceeded: wait, lower the batch size, or raise the quota.' : 'Retry later; if it persists, check the provider status and the input texts.',
      cause,
    });
  }
  return new LtstError('QUERY_FAILED', `Embedding with "${model}" at ${baseUrl} failed: ${(error as Error)?.message ?? error}`, {
    hint: 'Retry later; if it persists, check the provider.',
    cause,
  });
}

/**
 * `https://user:pass@host/v1` is refused before any request: fetch cannot send URL credentials (each
 * call would fail as a connection error), and the key belongs in apiKey, sent as a Bearer token.
 */
function refuseUrlCredentials(baseUrl: string): void {
  let url: URL | undefined;
  try {
    url = new URL(baseUrl);
  } catch {
    return; // the SDK reports a malformed URL on the first call, naming it
  }
  if (url.username || url.password) {
    throw new LtstError('INVALID_CONFIG', `The embeddings base URL ${baseUrl} contains a user name or password`, {
      field: 'baseUrl',
      hint: 'Remove user:password@ from the base URL and put the key in the API Key field: OpenAI-compatible servers take it as a Bearer token.',
    });
  }
}

/** An embedder for OpenAI's API or any server that speaks its `POST /embeddings` protocol. */
export function openAiCompatibleEmbedder(options: OpenAiCompatibleOptions): Embedder {
  const { model, dimensions } = options;
  const baseUrl = (options.baseUrl || DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
  refuseUrlCredentials(baseUrl);
  const batchSize = options.batchSize ?? 96;
  const maxRetries = options.maxRetries ?? 5;
  const baseDelay = options.retryBaseDelayMs ?? 500;
  const maxDelay = options.maxRetryDelayMs ?? 30_000;
  if (!model) throw new LtstError('INVALID_CONFIG', 'No embedding model is set', { hint: 'Set the model, e.g. text-embedding-3-small.' });
  if (!Number.isInteger(dimensions) || dimensions < 1) {
    throw new LtstError('INVALID_CONFIG', `Invalid store dimensions ${dimensions}`, { hint: 'Use a positive whole number such as 384 or 1536.' });
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 2048) {
    throw new LtstError('INVALID_CONFIG', `Invalid embedding batch size ${batchSize}`, { hint: 'Use a whole number from 1 to 2048 (OpenAI accepts at most 2048 inputs per request).' });
  }
  const client = new OpenAI({
    // Servers without keys (Ollama, LM Studio) ignore the header; the SDK insists on one.
    apiKey: options.apiKey || 'no-key',
    baseURL: baseUrl,
    organization: null,
    project: null,
    maxRetries: 0, // retried below, with Retry-After honoured and a configurable delay
    timeout: options.timeoutMs ?? 60_000,
    fetch: options.fetch,
  });
  const sendDimensions = acceptsDimensions(model);

  async function request(input: string[]): Promise<number[][]> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await client.embeddings.create({
          model,
          input,
          // Floats, not the SDK's default base64: not every compatible server speaks base64.
          encoding_format: 'float',
          ...(sendDimensions ? { dimensions } : {}),
        });
        const data = [...(response.data ?? [])].sort((a, b) => a.index - b.index);
        if (data.length !== input.length) {
          throw new LtstError('QUERY_FAILED', `The embeddings API at ${baseUrl} returned ${data.length} vectors for ${input.length} inputs`, {
            hint: 'The server does not follow the OpenAI embeddings protocol; check the base URL and model.',
          });
        }
        return data.map(({ embedding }) => {
          if (embedding.length !== dimensions) {
            throw new LtstError('INVALID_CONFIG', `Embedding model "${model}" returns ${embedding.length} dimensions, store expects ${dimensions}`, {
              hint: `Choose a model that makes ${dimensions}-dimensional vectors (text-embedding-3-* can be asked for any size up to their maximum) or a store created with ${embedding.length} dimensions.`,
            });
          }
          return embedding;
        });
      } catch (error) {
        if (attempt >= maxRetries || !retryable(error)) throw toLtstError(error, model, baseUrl);
        const asked = error instanceof OpenAI.APIError ? retryAfterMs(error.headers) : undefined;
        const backoff = baseDelay * 2 ** attempt * (0.5 + Math.random() / 2);
        await sleep(Math.min(asked ?? backoff, maxDelay));
      }
    }
  }

  return {
    id: `openai:${model}`,
    dimensions,
    async embed(texts: string[]): Promise<number[][]> {
      const out: number[][] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        // OpenAI refuses empty strings; an empty text has no meaning to embed anyway.
        const batch = texts.slice(start, start + batchSize).map((text) => (text === '' ? ' ' : text));
        out.push(...(await request(batch)));
      }
      return out;
    },
  };
}
