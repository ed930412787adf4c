import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import type { RetrieveContextRequest } from '../../src';
import { ltstMemoryConnectionTest } from '../shared/credential-test';
import { embeddingsParameter, mainAndEmbeddingInputs, optionsParameter, sessionIdParameter, userIdParameter } from '../shared/descriptions';
import { memoryStore, type EmbeddingsSource } from '../shared/memory-store';
import { runPerItem } from '../shared/run-per-item';

export class LtstRetrieveContext implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'LTST Retrieve Context',
    name: 'ltstRetrieveContext',
    icon: { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: '={{ $parameter["output"] === "prompt" ? "prompt" : "bundle" }}',
    description: 'Recall what an LLM prompt needs: recent turns, relevant memories, context and preferences',
    defaults: { name: 'Retrieve Context' },
    usableAsTool: true,
    inputs: mainAndEmbeddingInputs,
    outputs: [NodeConnectionTypes.Main],
    credentials: [
      { name: 'ltstMemoryPostgresApi', required: true, testedBy: 'ltstMemoryConnectionTest' },
      { name: 'ltstEmbeddingsApi', required: true, displayOptions: { show: { embeddings: ['openai'] } } },
    ],
    properties: [
      userIdParameter,
      sessionIdParameter,
      { displayName: 'Query', name: 'query', type: 'string', default: '={{ $json.chatInput }}', description: "What to recall; empty uses the session's latest human message" },
      {
        displayName: 'Output',
        name: 'output',
        type: 'options',
        options: [
          { name: 'Memory Bundle', value: 'bundle', description: 'Every part, each usable on its own' },
          { name: 'Prompt Text Only', value: 'prompt', description: 'One text block for the LLM' },
        ],
        default: 'bundle',
      },
      embeddingsParameter,
      optionsParameter([
          { displayName: 'Recent Messages', name: 'recentLimit', type: 'number', default: 10, description: 'Newest messages of the session (short-term memory)' },
          { displayName: 'Relevant Memories', name: 'topK', type: 'number', default: 8, description: 'Long-term results' },
          {
            displayName: 'Scope',
            name: 'scope',
            type: 'options',
            options: [
              { name: 'All Sessions of the User', value: 'user' },
              { name: 'This Session', value: 'session' },
            ],
            default: 'user',
          },
          { displayName: 'Token Budget', name: 'tokenBudget', type: 'number', default: 2000 },
          { displayName: 'Minimum Relevance', name: 'minRelevance', type: 'number', typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 }, default: 0 },
          { displayName: 'Neighbouring Turns', name: 'neighbors', type: 'number', default: 0 },
          { displayName: 'Include Preferences', name: 'includePreferences', type: 'boolean', default: true },
          { displayName: 'Include Context', name: 'includeContext', type: 'boolean', default: true },
          { displayName: 'Include Related Sessions', name: 'includeRelatedSessions', type: 'boolean', default: true },
          {
            displayName: 'Include Documents',
            name: 'includeDocuments',
            type: 'boolean',
            default: false,
            description: 'Whether to add the nearest chunks of the documents table set in the LTST Memory credential',
          },
          { displayName: 'Top Documents', name: 'topDocuments', type: 'number', typeOptions: { minValue: 1, maxValue: 50 }, default: 5, description: 'Document chunks returned with Include Documents' },
          { displayName: 'Use Cache', name: 'useCache', type: 'boolean', default: true },
      ]),
    ],
  };

  methods = { credentialTest: { ltstMemoryConnectionTest } };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    const store = await memoryStore(this, this.getNodeParameter('embeddings', 0) as EmbeddingsSource);
    return runPerItem(this, async (item) => {
      const bundle = await store.retrieveContext({
        ...(this.getNodeParameter('options', item, {}) as Partial<RetrieveContextRequest>),
        userId: this.getNodeParameter('userId', item) as string,
        sessionId: (this.getNodeParameter('sessionId', item) as string) || undefined,
        query: (this.getNodeParameter('query', item) as string) || undefined,
      });
      return this.getNodeParameter('output', item) === 'prompt' ? { prompt: bundle.prompt, stats: bundle.stats } : bundle;
    });
  }
}
