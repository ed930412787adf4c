import type { INodeProperties, INodeTypeDescription } from 'n8n-workflow';

/** Parameters and settings every LTST node shares, so they read the same on the canvas. */
export const credentials: INodeTypeDescription['credentials'] = [
  { name: 'ltstMemoryPostgres', required: true, testedBy: 'ltstMemoryConnectionTest' },
  { name: 'ltstEmbeddingsApi', required: true, displayOptions: { show: { embeddings: ['openai'] } } },
];

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
    { name: 'None', value: 'none', description: 'Full text and recency only' },
  ],
  default: 'local',
};
