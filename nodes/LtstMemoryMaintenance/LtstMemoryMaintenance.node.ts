import { NodeConnectionTypes, NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, type INodePropertyOptions, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import { openMemory, type MemoryStore } from '../../src';
import { agentToolOptions, refuseAgentToolOperation, type AgentToolPolicy } from '../shared/agent-tool-guard';
import { memoryConfigFromCredential, type LtstPostgresCredential } from '../shared/credential-config';
import { ltstMemoryConnectionTest } from '../shared/credential-test';
import { embeddingsParameter, forOperations, operationParameter, optionsParameter, userIdParameter } from '../shared/descriptions';
import { memoryStore, type EmbeddingsSource } from '../shared/memory-store';
import { operationSubtitle } from '../shared/operation-subtitle';
import { runPerItem } from '../shared/run-per-item';

type Parameter = (name: string, fallback?: unknown) => unknown;
type Options = Record<string, unknown>;

/** One core call per operation. `raw` ones get the store as configured, not migrated first: Health writes nothing, Migrate reports what it applied. */
const OPERATIONS: Record<string, { raw?: boolean; run: (store: MemoryStore, param: Parameter) => Promise<unknown> }> = {
  health: { raw: true, run: (store) => store.health() },
  migrate: { raw: true, run: (store) => store.migrate() },
  cleanExpired: { run: (store) => store.cleanExpired() },
  archiveSessions: { run: (store, param) => store.archiveSessions({ inactiveDays: (param('options', {}) as Options).inactiveDays as number | undefined }) },
  backfillEmbeddings: {
    run: (store, param) => {
      const options = param('options', {}) as Options;
      return store.backfillEmbeddings({ batchSize: (options.batchSize as number) || undefined, userId: (options.userId as string) || undefined });
    },
  },
  import: {
    run: (store, param) => {
      const options = param('options', {}) as Options;
      const request = { table: (options.table as string) || undefined, userId: (options.userId as string) || undefined, batchSize: (options.batchSize as number) || undefined };
      return param('source') === 'n8n_chat_histories' ? store.importN8nChatHistories(request) : store.importConversationMemory(request);
    },
  },
  exportUserData: { run: (store, param) => store.exportUserData(param('userId') as string) },
  deleteUserData: { run: (store, param) => store.deleteUserData(param('userId') as string) },
};

/** The Operation options; as an agent tool only Health is offered (and runs): it reads the schema's state, no user's data. */
const OPERATION_OPTIONS: INodePropertyOptions[] = [
  { name: 'Archive Sessions', value: 'archiveSessions', action: 'Archive inactive sessions', description: 'Archive sessions without activity for a number of days' },
  { name: 'Backfill Embeddings', value: 'backfillEmbeddings', action: 'Backfill embeddings', description: 'Embed stored messages that have no embedding' },
  { name: 'Clean Expired', value: 'cleanExpired', action: 'Clean expired cache and context', description: 'Remove expired retrieval cache and context entries' },
  { name: 'Delete User Data', value: 'deleteUserData', action: 'Delete user data', description: 'Remove everything stored for one user' },
  { name: 'Export User Data', value: 'exportUserData', action: 'Export user data', description: 'Everything stored for one user, as JSON' },
  { name: 'Health', value: 'health', action: 'Check health', description: 'Schema state and usage; writes nothing' },
  { name: 'Import', value: 'import', action: 'Import existing memory', description: 'Import conversation_memory or n8n_chat_histories rows' },
  { name: 'Migrate', value: 'migrate', action: 'Install or upgrade the schema', description: 'Install or upgrade the schema' },
];
const AGENT_TOOL: AgentToolPolicy = { node: 'LTST Memory Maintenance', allowed: ['health'] };

/**
 * The embeddings credential only for Backfill Embeddings with the OpenAI-compatible API. Said with
 * `hide`, not `show`: n8n's editor puts the credentials just above the last visible parameter that
 * a credential's `show` names (here Operation or Embeddings, so the credential moved with the
 * operation); with no `show`, they come first, as in n8n's own nodes.
 */
const EMBEDDINGS_CREDENTIAL_DISPLAY = {
  hide: { operation: OPERATION_OPTIONS.map((option) => String(option.value)).filter((value) => value !== 'backfillEmbeddings'), embeddings: ['local'] },
};

/** An operation's own options collection (n8n shows the one of the selected operation). */
const optionsFor = (operation: string, options: INodeProperties[]): INodeProperties => optionsParameter(options, forOperations(operation));

const ownerOption = (description: string): INodeProperties => ({ displayName: 'User ID', name: 'userId', type: 'string', default: '', description });

export class LtstMemoryMaintenance implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'LTST Memory Maintenance',
    name: 'ltstMemoryMaintenance',
    icon: { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: operationSubtitle(OPERATION_OPTIONS),
    description: 'Check, migrate, clean up, archive, backfill, import, export or delete LTST memory',
    defaults: { name: 'Memory Maintenance' },
    usableAsTool: true,
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    credentials: [
      { name: 'ltstMemoryPostgresApi', required: true, testedBy: 'ltstMemoryConnectionTest' },
      { name: 'ltstEmbeddingsApi', required: true, displayOptions: EMBEDDINGS_CREDENTIAL_DISPLAY },
    ],
    properties: [
      operationParameter(agentToolOptions(OPERATION_OPTIONS, AGENT_TOOL), 'health'),
      { ...userIdParameter, placeholder: 'e.g. user-42', displayOptions: forOperations('exportUserData', 'deleteUserData') },
      {
        displayName:
          "Deletes everything stored for this user: sessions, messages, context, relationships, preferences, events, metrics and cached retrievals. This cannot be undone: run Export User Data first to keep a copy.",
        name: 'deleteUserDataNotice',
        type: 'notice',
        default: '',
        displayOptions: forOperations('deleteUserData'),
      },
      {
        displayName: 'Source',
        name: 'source',
        type: 'options',
        options: [
          { name: 'Conversation Memory', value: 'conversation_memory', description: 'A table of session_id, human_message, ai_response, context, created_at' },
          { name: 'N8n Chat Histories', value: 'n8n_chat_histories', description: "The table of n8n's Postgres Chat Memory" },
        ],
        default: 'conversation_memory',
        displayOptions: forOperations('import'),
      },
      {
        ...embeddingsParameter,
        // Backfilling needs an embedder of its own (the node has no Embedding input).
        options: embeddingsParameter.options?.filter((option) => 'value' in option && (option.value === 'local' || option.value === 'openai')),
        displayOptions: forOperations('backfillEmbeddings'),
      },
      optionsFor('archiveSessions', [
        {
          displayName: 'Inactive Days',
          name: 'inactiveDays',
          type: 'number',
          typeOptions: { minValue: 1 },
          default: 30,
          description: 'Archive sessions without activity for this many days; not set: the memory_retention_days system preference (else 30)',
        },
      ]),
      optionsFor('backfillEmbeddings', [
        { displayName: 'Batch Size', name: 'batchSize', type: 'number', typeOptions: { minValue: 1 }, default: 100, description: 'Messages embedded per round' },
        ownerOption("Only this user's messages; empty: every user"),
      ]),
      optionsFor('import', [
        { displayName: 'Table', name: 'table', type: 'string', default: '', placeholder: 'n8n_chat_histories', description: "Source table, optionally schema-qualified; empty: the source's name" },
        ownerOption("Owner of every imported session; empty: the row's user_id column, else its session ID"),
        { displayName: 'Batch Size', name: 'batchSize', type: 'number', typeOptions: { minValue: 1 }, default: 500, description: 'Source rows per transaction' },
      ]),
    ],
  };

  methods = { credentialTest: { ltstMemoryConnectionTest } };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    return runPerItem(this, async (item) => {
      const param: Parameter = (name, fallback) => this.getNodeParameter(name, item, fallback);
      const name = param('operation') as string;
      refuseAgentToolOperation(this.getNode(), name, OPERATION_OPTIONS, AGENT_TOOL, item);
      const operation = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
      if (!operation) throw new NodeOperationError(this.getNode(), `Operation "${name}" is unknown`, { itemIndex: item, description: `Use one of ${Object.keys(OPERATIONS).join(', ')}.` });
      const store = operation.raw
        ? openMemory({ ...memoryConfigFromCredential(await this.getCredentials<LtstPostgresCredential & IDataObject>('ltstMemoryPostgresApi', item)), embeddings: { provider: 'none' } })
        : await memoryStore(this, (name === 'backfillEmbeddings' ? param('embeddings') : 'none') as EmbeddingsSource);
      // Through JSON: dates become ISO strings, as n8n stores them anyway.
      return JSON.parse(JSON.stringify(await operation.run(store, param))) as IDataObject;
    });
  }
}
