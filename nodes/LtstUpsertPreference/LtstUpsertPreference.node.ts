import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, type INodePropertyOptions, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import type { PreferenceSource } from '../../src';
import { agentToolOptions, refuseAgentToolOperation, type AgentToolPolicy } from '../shared/agent-tool-guard';
import { ltstMemoryConnectionTest } from '../shared/credential-test';
import { forOperations, operationParameter, optionsParameter, userIdParameter } from '../shared/descriptions';
import { memoryStore } from '../shared/memory-store';
import { operationSubtitle } from '../shared/operation-subtitle';
import { runPerItem } from '../shared/run-per-item';

/** The Operation options. As an agent tool, Delete is refused: an agent learns and reads, it never erases. */
const OPERATION_OPTIONS: INodePropertyOptions[] = [
  { name: 'Create or Update', value: 'upsert', action: 'Learn a preference', description: 'Create a new record, or update the current one if it already exists (upsert)' },
  { name: 'Get', value: 'get', action: 'Get a preference' },
  { name: 'List', value: 'list', action: 'List preferences' },
  { name: 'Delete', value: 'delete', action: 'Delete a preference' },
];
const AGENT_TOOL: AgentToolPolicy = { node: 'LTST Upsert Preference', allowed: ['upsert', 'get', 'list'] };

const key: INodeProperties = { displayName: 'Key', name: 'key', type: 'string', required: true, default: '', placeholder: 'language', displayOptions: forOperations('upsert', 'get', 'delete') };

export class LtstUpsertPreference implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'LTST Upsert Preference',
    name: 'ltstUpsertPreference',
    icon: { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: operationSubtitle(OPERATION_OPTIONS, 'key'),
    description: "Learn, read or forget a user's preferences",
    defaults: { name: 'Upsert Preference' },
    usableAsTool: true,
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    credentials: [
      { name: 'ltstMemoryPostgresApi', required: true, testedBy: 'ltstMemoryConnectionTest' },
    ],
    properties: [
      operationParameter(agentToolOptions(OPERATION_OPTIONS, AGENT_TOOL), 'upsert'),
      { ...userIdParameter, placeholder: 'e.g. user-42' },
      key,
      { displayName: 'Value', name: 'value', type: 'string', required: true, default: '', displayOptions: forOperations('upsert') },
      { displayName: 'Type', name: 'type', type: 'string', default: 'general', displayOptions: forOperations('upsert') },
      { displayName: 'Only Type', name: 'filterType', type: 'string', default: '', description: 'Only preferences of this type; empty lists all', displayOptions: forOperations('list') },
      {
        displayName: 'Source',
        name: 'source',
        type: 'options',
        options: [
          { name: 'Explicit', value: 'explicit', description: 'The user said so' },
          { name: 'Learned', value: 'learned', description: 'Seen in the conversation' },
          { name: 'Inferred', value: 'inferred', description: 'Guessed from behaviour' },
        ],
        default: 'explicit',
        displayOptions: forOperations('upsert'),
      },
      // Confidence is optional: absent, the core takes the source's default (0 would read as "no confidence").
      optionsParameter(
        [
          {
            displayName: 'Confidence',
            name: 'confidence',
            type: 'number',
            typeOptions: { minValue: 0.01, maxValue: 1, numberPrecision: 2 },
            default: 0.5,
            description: "How sure this observation is, above 0 up to 1. Not added: the source's default (explicit 0.9, learned 0.5, inferred 0.3).",
          },
        ],
        forOperations('upsert'),
      ),
      { displayName: 'Minimum Confidence', name: 'minConfidence', type: 'number', typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 }, default: 0, displayOptions: forOperations('list') },
    ],
  };

  methods = { credentialTest: { ltstMemoryConnectionTest } };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    const store = await memoryStore(this, 'none');
    return runPerItem(this, async (item) => {
      const param = <T>(name: string) => this.getNodeParameter(name, item) as T;
      const userId = param<string>('userId');
      const operation = param<string>('operation');
      refuseAgentToolOperation(this.getNode(), operation, OPERATION_OPTIONS, AGENT_TOOL, item);
      switch (operation) {
        case 'upsert':
          return store.upsertPreference({
            userId,
            key: param('key'),
            value: param('value'),
            type: param<string>('type') || undefined,
            source: param<PreferenceSource>('source'),
            confidence: (this.getNodeParameter('options', item, {}) as { confidence?: number }).confidence || undefined,
          });
        case 'get':
          return { preference: (await store.getPreferences(userId)).find((p) => p.key === param('key')) ?? null };
        case 'list':
          return { preferences: await store.getPreferences(userId, { minConfidence: param('minConfidence'), type: param<string>('filterType') || undefined }) };
        default:
          return { deleted: await store.deletePreference(userId, param('key')) };
      }
    });
  }
}
