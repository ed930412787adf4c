import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

/**
 * Where the editor draws the credential selectors. Without it n8n puts them just above the last
 * parameter a credential's displayOptions depend on (Embeddings, for the LTST Embeddings
 * credential), in the middle of the panel; first in `properties`, the connection comes first.
 */
export const credentialsFirstParameter: INodeProperties = {
  displayName: '',
  name: 'credentials',
  type: 'credentials',
  default: '',
};

/** Parameters every LTST node shares, so they read the same on the canvas. */
export const userIdParameter: INodeProperties = {
  displayName: 'User ID',
  name: 'userId',
  type: 'string',
  required: true,
  default: '',
  placeholder: '={{ $json.userId }}',
  description: 'Whose memory: nothing of another user is ever read or written',
};

export const sessionIdParameter: INodeProperties = {
  displayName: 'Session ID',
  name: 'sessionId',
  type: 'string',
  default: '={{ $json.sessionId }}',
  description: 'The conversation, as the Chat Trigger gives it',
};

export const embeddingsParameter: INodeProperties = {
  displayName: 'Embeddings',
  name: 'embeddings',
  type: 'options',
  options: [
    { name: 'Local Model', value: 'local', description: 'Offline, in n8n; no API key' },
    { name: 'OpenAI-Compatible API', value: 'openai', description: 'Uses the LTST Embeddings credential' },
    { name: 'Connected Embeddings Sub-Node', value: 'connected', description: 'Any n8n Embeddings node, on the Embedding input' },
    { name: 'None', value: 'none', description: 'Full text and recency only' },
  ],
  default: 'local',
  hint: 'How texts become vectors for recall by meaning. Keep the same choice on every node of one memory: vectors of different models do not compare.',
};

/** Says what the first use of the local model costs, under Embeddings while it is Local Model. */
export const localModelFirstUseNotice: INodeProperties = {
  displayName:
    'First run: the local model (about 25 MB) loads in the background as soon as n8n starts, so it is usually ready; a run that comes sooner waits a few seconds for it. A new Embedded database is created, with its schema, when its credential is saved and tested (or else by its first run: a few seconds, once); after a restart it opens in about a second.',
  name: 'localModelNotice',
  type: 'notice',
  default: '',
  displayOptions: { show: { embeddings: ['local'] } },
};

/** The main input, plus an Embedding input (for an n8n Embeddings sub-node) while Embeddings is Connected. */
export const mainAndEmbeddingInputs = `={{ $parameter.embeddings === 'connected' ? ['main', { type: 'ai_embedding', displayName: 'Embedding', required: true, maxConnections: 1 }] : ['main'] }}`;

/** Shows a parameter only for these operations. */
export const forOperations = (...operation: string[]) => ({ show: { operation } });

/** The Operation selector of a node with several operations. */
export const operationParameter = (options: INodePropertyOptions[], defaultOperation: string): INodeProperties => ({
  displayName: 'Operation',
  name: 'operation',
  type: 'options',
  noDataExpression: true,
  options,
  default: defaultOperation,
});

/** The optional settings of a node (or of some of its operations), under Add Option. */
export const optionsParameter = (options: INodeProperties[], displayOptions?: INodeProperties['displayOptions']): INodeProperties => ({
  displayName: 'Options',
  name: 'options',
  type: 'collection',
  placeholder: 'Add Option',
  default: {},
  ...(displayOptions ? { displayOptions } : {}),
  options,
});
