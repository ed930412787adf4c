import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import type { RetrieveContextRequest } from '../../src';
import { ltstMemoryConnectionTest } from '../shared/credential-test';
import { contextOutput } from '../shared/context-output';
import {
  credentialsFirstParameter,
  embeddingsParameter,
  localModelFirstUseNotice,
  mainAndEmbeddingInputs,
  optionsParameter,
  sessionIdParameter,
  userIdParameter,
} from '../shared/descriptions';
import { memoryStore, type EmbeddingsSource } from '../shared/memory-store';
import { runPerItem } from '../shared/run-per-item';
import { warmUpLocalModelInBackground } from '../shared/warm-up';

// n8n loads this module when it starts: the local model loads meanwhile, not in the first run.
warmUpLocalModelInBackground();

export class LtstRetrieveContext implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'LTST Retrieve Context',
    name: 'ltstRetrieveContext',
    icon: { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: '={{ $parameter["output"] === "prompt" ? "Recall as prompt text" : "Recall memory for a prompt" }}',
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
      credentialsFirstParameter,
      userIdParameter,
      sessionIdParameter,
      { displayName: 'Query', name: 'query', type: 'string', default: '={{ $json.chatInput }}', description: "What to recall; empty uses the session's latest human message" },
      {
        displayName: 'Output',
        name: 'output',
        type: 'options',
        options: [
          { name: 'Memory Bundle', value: 'bundle', description: 'The prompt text first, then each part usable on its own' },
          { name: 'Prompt Text Only', value: 'prompt', description: 'One text block for the LLM' },
        ],
        default: 'bundle',
        hint: 'Wire the prompt field ($json.prompt) into the LLM, for example as the system message of an AI Agent',
        description:
          'In relevantMessages, score (0 to 1) ranks the results: 85% the match on meaning and words (scores.fused), 10% recency, 5% stored relevance. scores.vector is the similarity of meaning (no value without embeddings), scores.text the full-text match (BM25, no upper bound, no value when no word matches), scores.recency 1 now and 0.5 after 30 days, scores.relevance grows each time the message is recalled (0 at first). Shown to 3 decimals; Include Details gives them exact.',
      },
      embeddingsParameter,
      localModelFirstUseNotice,
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
          {
            displayName: 'Include Details',
            name: 'includeDetails',
            type: 'boolean',
            default: false,
            description:
              'Whether to output the complete bundle: exact scores, message hashes and idempotency keys, the session, and stats (timings, cache hit, candidates, generation)',
          },
          {
            displayName: 'Use Cache',
            name: 'useCache',
            type: 'boolean',
            default: true,
            description:
              "Whether to answer a repeated request from the cache and cache this answer. A chat that stores every turn never hits it (a stored message makes the user's cached answers stale): turn it off there to save the cache write.",
          },
      ]),
    ],
  };

  methods = { credentialTest: { ltstMemoryConnectionTest } };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    const store = await memoryStore(this, this.getNodeParameter('embeddings', 0) as EmbeddingsSource);
    return runPerItem(this, async (item) => {
      const { includeDetails, ...options } = this.getNodeParameter('options', item, {}) as Partial<RetrieveContextRequest> & { includeDetails?: boolean };
      const bundle = await store.retrieveContext({
        ...options,
        userId: this.getNodeParameter('userId', item) as string,
        sessionId: (this.getNodeParameter('sessionId', item) as string) || undefined,
        query: (this.getNodeParameter('query', item) as string) || undefined,
      });
      return contextOutput(bundle, this.getNodeParameter('output', item) as 'bundle' | 'prompt', includeDetails === true);
    });
  }
}
