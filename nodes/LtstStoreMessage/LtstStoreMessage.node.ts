import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import { LtstError, type StoreMessageInput } from '../../src';
import { ltstMemoryConnectionTest } from '../shared/credential-test';
import { embeddingsParameter, mainAndEmbeddingInputs, optionsParameter, sessionIdParameter, userIdParameter } from '../shared/descriptions';
import { memoryStore, type EmbeddingsSource } from '../shared/memory-store';
import { toNodeError } from '../shared/node-errors';
import { jsonParameter } from '../shared/run-per-item';

/** The batch item a core error names (`messages[3].content`), if it names one. */
const failedItem = (error: unknown) => (error instanceof LtstError ? Number(/^messages\[(\d+)\]/.exec(error.field ?? '')?.[1] ?? NaN) : NaN);

export class LtstStoreMessage implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'LTST Store Message',
    name: 'ltstStoreMessage',
    icon: { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: '={{ $parameter["role"] }}',
    description: 'Store a conversation turn in long-term memory',
    defaults: { name: 'Store Message' },
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
      {
        displayName: 'Role',
        name: 'role',
        type: 'options',
        options: [
          { name: 'Human', value: 'human' },
          { name: 'AI', value: 'ai' },
          { name: 'System', value: 'system' },
          { name: 'Tool', value: 'tool' },
        ],
        default: 'human',
      },
      { displayName: 'Content', name: 'content', type: 'string', typeOptions: { rows: 3 }, default: '={{ $json.chatInput }}', required: true },
      embeddingsParameter,
      optionsParameter([
          { displayName: 'Message Type', name: 'messageType', type: 'string', default: 'message' },
          { displayName: 'Parent Message ID', name: 'parentMessageId', type: 'number', default: 0, description: 'The message this one answers, from the same session' },
          { displayName: 'Metadata (JSON)', name: 'metadata', type: 'json', default: '{}' },
          { displayName: 'Timestamp', name: 'timestamp', type: 'dateTime', default: '', description: 'When the turn happened (for imported history); default now' },
          {
            displayName: 'Idempotency Key',
            name: 'idempotencyKey',
            type: 'string',
            default: '',
            description: 'A repeated key returns the stored message instead of a duplicate; default: execution, node and item',
          },
      ]),
    ],
  };

  methods = { credentialTest: { ltstMemoryConnectionTest } };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    const items = this.getInputData();
    const node = this.getNode();
    const store = await memoryStore(this, this.getNodeParameter('embeddings', 0) as EmbeddingsSource);
    const results: INodeExecutionData[] = new Array(items.length);
    const pending: Array<{ item: number; message: StoreMessageInput }> = [];
    for (let item = 0; item < items.length; item += 1) {
      try {
        const options = this.getNodeParameter('options', item, {}) as Record<string, unknown>;
        const metadata = jsonParameter(node, options.metadata, 'metadata', item);
        pending.push({
          item,
          message: {
            userId: this.getNodeParameter('userId', item) as string,
            sessionId: this.getNodeParameter('sessionId', item) as string,
            role: this.getNodeParameter('role', item) as StoreMessageInput['role'],
            content: this.getNodeParameter('content', item) as string,
            messageType: (options.messageType as string) || undefined,
            parentMessageId: (options.parentMessageId as number) || undefined,
            metadata,
            timestamp: (options.timestamp as string) || undefined,
            idempotencyKey: (options.idempotencyKey as string) || `${this.getExecutionId()}:${node.id}:${item}`,
          },
        });
      } catch (error) {
        if (!this.continueOnFail()) throw toNodeError(node, error, item);
        results[item] = { json: { error: (error as Error).message }, pairedItem: { item } };
      }
    }
    // All items go to the core as one batch; an item it refuses is reported on its own and, with
    // Continue On Fail, the rest is stored without it.
    while (pending.length > 0) {
      try {
        const stored = await store.storeMessages(pending.map((p) => p.message));
        stored.forEach((message, k) => (results[pending[k].item] = { json: { ...message }, pairedItem: { item: pending[k].item } }));
        break;
      } catch (error) {
        const k = failedItem(error);
        if (!this.continueOnFail()) throw toNodeError(node, error, Number.isInteger(k) ? pending[k].item : pending[0].item);
        // An error of no particular item (the database is down) fails every item still pending.
        for (const p of Number.isInteger(k) ? pending.splice(k, 1) : pending.splice(0)) {
          results[p.item] = { json: { error: (error as Error).message }, pairedItem: { item: p.item } };
        }
      }
    }
    return [results];
  }
}
