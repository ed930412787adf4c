import { createEmbedder, openAiCompatibleEmbedder, type OpenAiCompatibleOptions } from '../../src/embeddings';
import { ltstErrorOf } from '../helpers/databases';
import { closedPort, fakeVector, startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server';

const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i], 0);

describe('openAiCompatibleEmbedder against a fake OpenAI server', () => {
  let server: FakeOpenAiServer;
  beforeAll(async () => {
    server = await startFakeOpenAiServer();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.behaviour = {};
  });

  const embedder = (options: Partial<OpenAiCompatibleOptions> = {}) =>
    openAiCompatibleEmbedder({ apiKey: 'sk-test', baseUrl: server.baseUrl, model: 'text-embedding-3-small', dimensions: 384, retryBaseDelayMs: 1, ...options });

  test('batches inputs (250 with batch size 96 -> 3 requests) and keeps their order', async () => {
    const texts = Array.from({ length: 250 }, (_, i) => `message number ${i} about topic ${i % 7}`);
    const vectors = await embedder({ batchSize: 96 }).embed(texts);
    expect(server.requests.map((r) => (r.input as string[]).length)).toEqual([96, 96, 58]);
    expect(vectors).toHaveLength(250);
    vectors.forEach((vector, i) => expect(vector).toEqual(fakeVector(texts[i], 384)));
    expect(server.requests[0].authorization).toBe('Bearer sk-test');
    expect(server.requests[0].encoding_format).toBe('float');
  });

  test('asks text-embedding-3 models for the store dimensions; does not send them to other models', async () => {
    await embedder().embed(['hello']);
    expect(server.requests[0]).toMatchObject({ model: 'text-embedding-3-small', dimensions: 384 });

    server.behaviour = { nativeDimensions: 384 };
    const other = embedder({ model: 'nomic-embed-text' });
    expect(other.id).toBe('openai:nomic-embed-text');
    expect(await other.embed(['hello'])).toHaveLength(1);
    expect(server.requests[1]).not.toHaveProperty('dimensions');
  });

  test('similar texts get similar vectors (the fake server is a bag of words)', async () => {
    const [a, b, c] = await embedder().embed(['I love green tea', 'green tea is what I love', 'The train leaves at noon']);
    expect(cosine(a, b)).toBeGreaterThan(cosine(a, c));
  });

  test('retries 429 honouring Retry-After: 0 (not the 10 s backoff), then succeeds', async () => {
    server.behaviour = { rateLimited: 2 };
    const started = Date.now();
    expect(await embedder({ retryBaseDelayMs: 10_000 }).embed(['a', 'b'])).toHaveLength(2);
    expect(server.requests).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('retries 500 with exponential backoff, then succeeds', async () => {
    server.behaviour = { failures: 1, rateLimited: 1 };
    expect(await embedder().embed(['a', 'b'])).toHaveLength(2);
    expect(server.requests).toHaveLength(3);
  });

  test('gives up after maxRetries with QUERY_FAILED', async () => {
    server.behaviour = { failures: 10 };
    const error = await ltstErrorOf(embedder({ maxRetries: 2 }).embed(['a']));
    expect(error.code).toBe('QUERY_FAILED');
    expect(error.message).toMatch(/500/);
    expect(server.requests).toHaveLength(3);
  });

  test('401: INVALID_CONFIG, API key rejected, not retried', async () => {
    server.behaviour = { apiKey: 'sk-right' };
    const error = await ltstErrorOf(embedder({ apiKey: 'sk-wrong' }).embed(['a']));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/rejected the API key \(401\)/);
    expect(error.hint).toMatch(/API key/);
    expect(server.requests).toHaveLength(1);
  });

  test('404 model not found: INVALID_CONFIG naming the model', async () => {
    server.behaviour = { models: ['text-embedding-3-small'] };
    const error = await ltstErrorOf(embedder({ model: 'text-embedding-9-huge' }).embed(['a']));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/"text-embedding-9-huge" not found/);
    expect(error.hint).toMatch(/model name/);
  });

  test('a wrong base URL path (404 without /v1) is INVALID_CONFIG too', async () => {
    const error = await ltstErrorOf(embedder({ baseUrl: server.baseUrl.replace(/\/v1$/, '') }).embed(['a']));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.hint).toMatch(/\/v1/);
  });

  test('vectors of the wrong length: INVALID_CONFIG "model returns N dimensions, store expects d"', async () => {
    server.behaviour = { wrongLength: 1536 };
    const error = await ltstErrorOf(embedder().embed(['a']));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/returns 1536 dimensions, store expects 384/);
  });

  test('empty strings are sent as a space (OpenAI refuses empty input)', async () => {
    expect(await embedder().embed(['', 'x'])).toHaveLength(2);
    expect(await embedder().embed([])).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  test('createEmbedder: openai, local and none', () => {
    expect(createEmbedder({ provider: 'none' }, 384)).toBeUndefined();
    expect(createEmbedder({ provider: 'openai', apiKey: 'k', model: 'text-embedding-3-small' }, 384)?.id).toBe('openai:text-embedding-3-small');
    expect(createEmbedder({ provider: 'local' }, 384)?.id).toBe('local:use-lite-512>384');
  });
});

test('connection refused: CONNECTION_FAILED naming the base URL', async () => {
  const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
  const error = await ltstErrorOf(openAiCompatibleEmbedder({ apiKey: 'k', baseUrl, model: 'text-embedding-3-small', dimensions: 8, retryBaseDelayMs: 1 }).embed(['a']));
  expect(error.code).toBe('CONNECTION_FAILED');
  expect(error.message).toContain(baseUrl);
  expect(error.message).toMatch(/ECONNREFUSED/);
  expect(error.hint).toMatch(/base URL/);
});
