import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOnLoopback } from './loopback';

/**
 * A tiny OpenAI-compatible embeddings server for tests, on 127.0.0.1 and a random port. Vectors
 * are deterministic hashed bags of words (texts sharing words point the same way), L2-normalised.
 * Tests must `await server.close()` (afterAll/finally); it never outlives them.
 */
export interface FakeOpenAiRequest {
  input: string | string[];
  model: string;
  dimensions?: number;
  encoding_format?: string;
  authorization?: string;
}

export interface FakeOpenAiServer {
  /** The API root to give as baseUrl, e.g. http://127.0.0.1:43210/v1. */
  readonly baseUrl: string;
  /** Requests received on /v1/embeddings (including those answered with an error). */
  readonly requests: FakeOpenAiRequest[];
  /** Switches; change them between calls. */
  behaviour: FakeBehaviour;
  close(): Promise<void>;
}

export interface FakeBehaviour {
  /** The only accepted key; others get 401 (default: any key). */
  apiKey?: string;
  /** Models that exist (default: any); others get 404 model_not_found. */
  models?: string[];
  /** Answer this many requests with 429 (Retry-After: 0) before succeeding. */
  rateLimited?: number;
  /** Answer this many requests with 500 before succeeding. */
  failures?: number;
  /** Native size of vectors when no `dimensions` is requested (default 64). */
  nativeDimensions?: number;
  /** Return vectors of this length whatever was asked. */
  wrongLength?: number;
  /** Answer every request with 401 quoting the request's headers, Authorization included, as some gateways do. */
  echoHeadersOn401?: boolean;
}

/** Hashed bag of words: each lowercased word adds ±1 at a few hashed positions. */
export function fakeVector(text: string, dimensions: number): number[] {
  const v = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let h = 2166136261;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619) >>> 0;
    for (let k = 0; k < 3; k++) {
      h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
      v[h % dimensions] += h & 0x10000 ? 1 : -1;
    }
  }
  const norm = Math.hypot(...v);
  return norm > 0 ? v.map((x) => x / norm) : v;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** As the API answers: a list of numbers, or with `base64` their little-endian float32 bytes (the SDK's default). */
function encode(vector: number[], format: string | undefined): number[] | string {
  return format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
}

function openAiError(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } };
}

export async function startFakeOpenAiServer(behaviour: FakeBehaviour = {}): Promise<FakeOpenAiServer> {
  const requests: FakeOpenAiRequest[] = [];
  const state = { behaviour };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        return send(res, 404, openAiError(`Invalid URL (${req.method} ${req.url})`, 'invalid_request_error', null));
      }
      let body: FakeOpenAiRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, openAiError('We could not parse the JSON body of your request.', 'invalid_request_error', null));
      }
      requests.push({ ...body, authorization: req.headers.authorization });
      const b = state.behaviour;
      if (b.echoHeadersOn401) {
        return send(res, 401, { ...openAiError(`Unauthorized request, headers: ${JSON.stringify(req.headers)}`, 'invalid_request_error', 'invalid_api_key'), headers: req.headers });
      }
      if (b.apiKey !== undefined && req.headers.authorization !== `Bearer ${b.apiKey}`) {
        return send(res, 401, openAiError('Incorrect API key provided: sk-wr***ng.', 'invalid_request_error', 'invalid_api_key'));
      }
      if (b.models && !b.models.includes(body.model)) {
        return send(res, 404, openAiError(`The model \`${body.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found'));
      }
      if (b.rateLimited) {
        b.rateLimited--;
        return send(res, 429, openAiError('Rate limit reached for requests', 'requests', 'rate_limit_exceeded'), { 'retry-after': '0' });
      }
      if (b.failures) {
        b.failures--;
        return send(res, 500, openAiError('The server had an error while processing your request.', 'server_error', null));
      }
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      if (inputs.some((text) => typeof text !== 'string' || text === '')) {
        return send(res, 400, openAiError("'$.input' is invalid.", 'invalid_request_error', null));
      }
      const size = b.wrongLength ?? body.dimensions ?? b.nativeDimensions ?? 64;
      send(res, 200, {
        object: 'list',
        data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: encode(fakeVector(text, size), body.encoding_format) })),
        model: body.model,
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
      });
    });
  });
  const { baseUrl, close } = await listenOnLoopback(server);
  return {
    baseUrl,
    requests,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(value: FakeBehaviour) {
      state.behaviour = value;
    },
    close,
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
