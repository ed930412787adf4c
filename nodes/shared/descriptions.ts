import { NodeConnectionTypes, type INodeProperties, type INodePropertyOptions, type INodeTypeDescription } from 'n8n-workflow';

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

/** What every LTST node's description shares: icons, version 1, one main input and output, tool use. */
export function ltstNode(node: {
  displayName: string;
  name: string;
  subtitle: string;
  description: string;
  defaultName: string;
  properties: INodeProperties[];
  /** Nodes that never embed need only the memory credential. */
  embeds?: boolean;
}): INodeTypeDescription {
  return {
    displayName: node.displayName,
    name: node.name,
    icon: { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: node.subtitle,
    description: node.description,
    defaults: { name: node.defaultName },
    usableAsTool: true,
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    credentials: node.embeds === false ? credentials?.filter((c) => c.name === 'ltstMemoryPostgres') : credentials,
    properties: node.properties,
  };
}

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
