import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import type { MemoryStore, StoreMessageInput } from '../../src';
import { ltstMemoryConnectionTest } from '../shared/credential-test';
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
import { defaultIdempotencyKeys } from '../shared/idempotency-key';
import { failedItem, jsonParameter, runBatch } from '../shared/run-per-item';
import { storedOutput } from '../shared/stored-output';
import { warmUpLocalModelInBackground } from '../shared/warm-up';

// n8n loads this module when it starts: the local model loads meanwhile, not in the first run.
warmUpLocalModelInBackground();

export class LtstStoreMessage implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'LTST Store Message',
    name: 'ltstStoreMessage',
    icon: { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' },
    group: ['transform'],
    version: 1,
    // Ternaries, as n8n's own subtitles: an object literal's braces would sit next to the {{ }} delimiters.
    subtitle:
      '={{ $parameter["role"] === "ai" ? "Store an AI reply" : $parameter["role"] === "system" ? "Store a system message" : $parameter["role"] === "tool" ? "Store a tool result" : "Store a human message" }}',
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
      credentialsFirstParameter,
      userIdParameter,
      sessionIdParameter,
      {
        displayName: 'Role',
        name: 'role',
        type: 'options',
        options: [
          { name: 'Human', value: 'human', description: "The user's turn" },
          { name: 'AI', value: 'ai', description: "The model's reply" },
          { name: 'System', value: 'system', description: 'An instruction given to the model' },
          { name: 'Tool', value: 'tool', description: 'What a tool returned' },
        ],
        default: 'human',
        hint: 'Who said it. Store the user turn and the AI reply (two nodes, or two items) to keep the whole conversation',
      },
      {
        displayName: 'Content',
        name: 'content',
        type: 'string',
        typeOptions: { rows: 3 },
        default: '={{ $json.chatInput }}',
        required: true,
        hint: "The text of the turn. The default reads the Chat Trigger's message; after an AI Agent, its reply is $json.output",
      },
      embeddingsParameter,
      localModelFirstUseNotice,
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
            description: 'A repeated key with the same message returns the stored one (duplicate: true); with another message it is an error. Default: execution, node, run and item, so a retry repeats it.',
          },
          {
            displayName: 'Include Details',
            name: 'includeDetails',
            type: 'boolean',
            default: false,
            description: 'Whether to output the stored row as it is: content and context hashes, idempotency key and created at',
          },
      ]),
    ],
  };

  methods = { credentialTest: { ltstMemoryConnectionTest } };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    const items = this.getInputData();
    const node = this.getNode();
    const results: INodeExecutionData[] = new Array(items.length);
    const pending: Array<{ item: number; input: StoreMessageInput }> = [];
    const withDetails = new WeakSet<StoreMessageInput>();
    let defaultKey: ((item: number) => string) | undefined;
    for (let item = 0; item < items.length; item += 1) {
      try {
        const options = this.getNodeParameter('options', item, {}) as Record<string, unknown>;
        const input: StoreMessageInput = {
          userId: this.getNodeParameter('userId', item) as string,
          sessionId: this.getNodeParameter('sessionId', item) as string,
          role: this.getNodeParameter('role', item) as StoreMessageInput['role'],
          content: this.getNodeParameter('content', item) as string,
          messageType: (options.messageType as string) || undefined,
          parentMessageId: (options.parentMessageId as number) || undefined,
          metadata: jsonParameter(node, options.metadata, 'metadata', item),
          timestamp: (options.timestamp as string) || undefined,
          idempotencyKey: (options.idempotencyKey as string) || (defaultKey ??= defaultIdempotencyKeys(this))(item),
        };
        if (options.includeDetails === true) withDetails.add(input);
        pending.push({ item, input });
      } catch (error) {
        results[item] = failedItem(this, error, item);
      }
    }
    // All items go to the core as one batch; an item it refuses fails alone (see runBatch).
    let store: Promise<MemoryStore> | undefined;
    await runBatch(this, results, pending, async (messages) => {
      store ??= memoryStore(this, this.getNodeParameter('embeddings', 0) as EmbeddingsSource);
      const stored = await (await store).storeMessages(messages);
      return stored.map((message, k) => storedOutput(message, withDetails.has(messages[k])));
    });
    return [results];
  }
}
