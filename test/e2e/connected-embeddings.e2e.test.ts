import { onDatabase } from '../helpers/databases';
import { fakeVector, startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server';
import { n8n, withN8n } from './with-n8n';

const MEMORY = { ltstMemoryPostgresApi: { id: 'ltstMemoryCred01', name: 'LTST Memory' } };
const OPENAI = { openAiApi: { id: 'fakeOpenAiCred01', name: 'Fake OpenAI' } };

/**
 * Store Message and Retrieve Context embedding through n8n's own Embeddings OpenAI sub-node on their
 * Embedding input; the sub-node talks to an OpenAI-compatible server on 127.0.0.1.
 */
function workflow(id: string, userId: string, embeddingOptions: Record<string, unknown>, connectSubNode = true) {
  const ltst = (name: string, type: string, x: number, parameters: Record<string, unknown>) => ({
    id: `${id}-${x}`,
    name,
    type: `n8n-nodes-ltst-memory.${type}`,
    typeVersion: 1,
    position: [x, 0],
    parameters: { userId, sessionId: `${userId}-session`, embeddings: 'connected', ...parameters },
    credentials: MEMORY,
  });
  return {
    id,
    name: `LTST e2e: connected embeddings ${id}`,
    active: false,
    settings: { executionOrder: 'v1' },
    pinData: {},
    nodes: [
      { id: `${id}-0`, name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
      ltst('Store Message', 'ltstStoreMessage', 220, { role: 'human', content: 'I keep bees on the roof of my flat', options: {} }),
      ltst('Retrieve Context', 'ltstRetrieveContext', 440, { query: 'who keeps bees on the roof', output: 'bundle', options: { recentLimit: 0 } }),
      {
        id: `${id}-9`,
        name: 'Embeddings OpenAI',
        type: '@n8n/n8n-nodes-langchain.embeddingsOpenAi',
        typeVersion: 1.2,
        position: [330, 200],
        parameters: { model: 'text-embedding-3-small', options: embeddingOptions },
        credentials: OPENAI,
      },
    ],
    connections: {
      Start: { main: [[{ node: 'Store Message', type: 'main', index: 0 }]] },
      'Store Message': { main: [[{ node: 'Retrieve Context', type: 'main', index: 0 }]] },
      ...(connectSubNode
        ? {
            'Embeddings OpenAI': {
              ai_embedding: [
                [
                  { node: 'Store Message', type: 'ai_embedding', index: 0 },
                  { node: 'Retrieve Context', type: 'ai_embedding', index: 0 },
                ],
              ],
            },
          }
        : {}),
    },
  };
}

describe('embeddings from a connected n8n Embeddings sub-node, in a real n8n', () => {
  const { memory, runWorkflowAsync, importCredentials } = withN8n();
  let api: FakeOpenAiServer;

  beforeAll(async () => {
    api = await startFakeOpenAiServer({ apiKey: 'sk-e2e', nativeDimensions: 384 });
    importCredentials([{ id: 'fakeOpenAiCred01', name: 'Fake OpenAI', type: 'openAiApi', data: { apiKey: 'sk-e2e', url: api.baseUrl } }]);
  }, 60_000);
  afterAll(() => api?.close());

  const storedVectors = (userId: string) =>
    onDatabase(memory, async (db) =>
      (await db.query<{ v: string }>(`SELECT embedding::text AS v FROM ${memory.schema}.conversation_messages WHERE user_id = $1`, [userId])).rows.map((r) => JSON.parse(r.v) as number[]),
    );

  it("stores the sub-node's vector with the message and recalls it by the sub-node's query vector", async () => {
    const run = await runWorkflowAsync(workflow('ltstEmbSub01', 'bee-keeper', {}));
    expect(n8n.nodeItems(run, 'Store Message')[0]).toMatchObject({ userId: 'bee-keeper', messageIndex: 0, duplicate: false });
    const [bundle] = n8n.nodeItems(run, 'Retrieve Context');
    expect(bundle.relevantMessages[0]).toMatchObject({ content: 'I keep bees on the roof of my flat', scores: { vector: expect.any(Number) } });
    expect(bundle.relevantMessages[0].scores.vector).toBeGreaterThan(0.5);

    // The API saw the message and the query, with the credential's key, through n8n's sub-node.
    const inputs = api.requests.flatMap((r) => r.input);
    expect(inputs).toEqual(expect.arrayContaining(['I keep bees on the roof of my flat', 'who keeps bees on the roof']));
    expect(api.requests.every((r) => r.authorization === 'Bearer sk-e2e' && r.model === 'text-embedding-3-small')).toBe(true);

    const [vector] = await storedVectors('bee-keeper');
    const expected = fakeVector('I keep bees on the roof of my flat', 384);
    expect(vector).toHaveLength(384);
    vector.forEach((x, k) => expect(x).toBeCloseTo(expected[k], 5));
  }, 180_000);

  it('refuses vectors of another size with an error naming both sizes, and stores nothing', async () => {
    const run = await runWorkflowAsync(workflow('ltstEmbSub02', 'wrong-size', { dimensions: 256 }), { allowError: true });
    const error = run.data.resultData.error;
    expect(run.data.resultData.lastNodeExecuted).toBe('Store Message');
    expect(error.message).toBe('The connected Embeddings sub-node returns 256 numbers per text; this memory stores 384');
    expect(error.description).toMatch(/gives 384 numbers/);
    expect(await storedVectors('wrong-size')).toEqual([]);
  }, 180_000);

  it("fails with n8n's own 'sub-node must be connected' when Embeddings is Connected but nothing is", async () => {
    const run = await runWorkflowAsync(workflow('ltstEmbSub03', 'no-sub-node', {}, false), { allowError: true });
    const error = run.data.resultData.error;
    expect(error.message).toMatch(/Embedding sub-node must be connected/);
    expect(await storedVectors('no-sub-node')).toEqual([]);
  }, 180_000);
});
