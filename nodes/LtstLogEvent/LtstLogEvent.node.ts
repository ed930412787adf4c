import { NodeConnectionTypes, NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodePropertyOptions, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import type { MemoryStore } from '../../src';
import { agentToolOptions, refuseAgentToolOperation, type AgentToolPolicy } from '../shared/agent-tool-guard';
import { ltstMemoryConnectionTest } from '../shared/credential-test';
import { forOperations, operationParameter } from '../shared/descriptions';
import { memoryStore } from '../shared/memory-store';
import { operationSubtitle } from '../shared/operation-subtitle';
import { jsonParameter, runPerItem } from '../shared/run-per-item';

/**
 * The Operation options. As an agent tool only Log runs (an agent may ask for work); claiming,
 * completing and failing settle events that other workflows hold and hand out their data.
 */
const OPERATION_OPTIONS: INodePropertyOptions[] = [
  { name: 'Log', value: 'log', action: 'Log an event', description: 'Append a pending event' },
  { name: 'Claim Pending', value: 'claim', action: 'Claim pending events', description: 'Hand pending events to this workflow for a lease, each to one worker only' },
  { name: 'Complete', value: 'complete', action: 'Complete an event', description: 'By the claim that holds it (its claim token)' },
  { name: 'Fail', value: 'fail', action: 'Fail an event', description: 'Back to pending while retries remain, else failed' },
];
const AGENT_TOOL: AgentToolPolicy = { node: 'LTST Log Event', allowed: ['log'] };

export class LtstLogEvent implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'LTST Log Event',
    name: 'ltstLogEvent',
    icon: { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: operationSubtitle(OPERATION_OPTIONS, 'eventType'),
    description: 'Write to and work through the event ledger that links memory and workflows',
    defaults: { name: 'Log Event' },
    usableAsTool: true,
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    credentials: [
      { name: 'ltstMemoryPostgresApi', required: true, testedBy: 'ltstMemoryConnectionTest' },
    ],
    properties: [
      operationParameter(agentToolOptions(OPERATION_OPTIONS, AGENT_TOOL), 'log'),
      { displayName: 'Event Type', name: 'eventType', type: 'string', required: true, default: '', placeholder: 'memory.summarise', displayOptions: forOperations('log') },
      { displayName: 'Data (JSON)', name: 'eventData', type: 'json', default: '{}', displayOptions: forOperations('log') },
      {
        displayName: 'User ID',
        name: 'userId',
        type: 'string',
        default: '',
        description: 'The user this event concerns, if any: Delete User Data removes the event and Export User Data includes it',
        displayOptions: forOperations('log'),
      },
      { displayName: 'Priority', name: 'priority', type: 'number', default: 0, description: 'Higher is claimed first', displayOptions: forOperations('log') },
      { displayName: 'Max Retries', name: 'maxRetries', type: 'number', typeOptions: { minValue: 0 }, default: 3, displayOptions: forOperations('log') },
      { displayName: 'Event Types', name: 'eventTypes', type: 'string', default: '', description: 'Comma-separated; empty claims every type', displayOptions: forOperations('claim') },
      { displayName: 'Limit', name: 'limit', type: 'number', typeOptions: { minValue: 1, maxValue: 1000 }, default: 50, description: 'Max number of results to return', displayOptions: forOperations('claim') },
      {
        displayName: 'Lease (Seconds)',
        name: 'leaseSeconds',
        type: 'number',
        typeOptions: { minValue: 1, maxValue: 86400 },
        default: 300,
        description: 'How long this claim holds its events; one neither completed nor failed by then goes to the next claim, counted as a retry',
        displayOptions: forOperations('claim'),
      },
      { displayName: 'Event ID', name: 'eventId', type: 'number', required: true, default: 0, displayOptions: forOperations('complete', 'fail') },
      {
        // Named `claim`, not `claimToken`: it is a short-lived handle shown in the claim's output, not a secret to mask.
        displayName: 'Claim Token',
        name: 'claim',
        type: 'string',
        required: true,
        default: '={{ $json.claimToken }}',
        description: 'The claimToken Claim Pending gave this event; a token whose claim lost the event is refused',
        displayOptions: forOperations('complete', 'fail'),
      },
      { displayName: 'Error Message', name: 'errorMessage', type: 'string', default: '', displayOptions: forOperations('fail') },
    ],
  };

  methods = { credentialTest: { ltstMemoryConnectionTest } };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    const workflow = this.getWorkflow();
    // Opened at the first item that may run: a refused agent tool call touches no database.
    let opened: MemoryStore | undefined;
    return runPerItem(this, async (item) => {
      const param = <T>(name: string) => this.getNodeParameter(name, item) as T;
      const operation = param<string>('operation');
      refuseAgentToolOperation(this.getNode(), operation, OPERATION_OPTIONS, AGENT_TOOL, item);
      const store = (opened ??= await memoryStore(this, 'none'));
      switch (operation) {
        case 'log':
          return store.logEvent({
            eventType: param('eventType'),
            eventData: jsonParameter(this.getNode(), param('eventData'), 'eventData', item),
            userId: param<string>('userId') || null,
            priority: param('priority'),
            maxRetries: param('maxRetries'),
            // Where the event came from, so a consumer can trace it back.
            metadata: { workflowId: workflow.id, executionId: this.getExecutionId(), node: this.getNode().name },
          });
        case 'claim': {
          const types = param<string>('eventTypes').split(',').map((t) => t.trim()).filter(Boolean);
          return { events: await store.claimEvents({ eventTypes: types.length ? types : undefined, limit: param('limit'), leaseSeconds: param('leaseSeconds') }) };
        }
        case 'complete':
          return store.completeEvent({ eventId: param('eventId'), claimToken: param('claim') });
        case 'fail':
          return store.failEvent({ eventId: param('eventId'), claimToken: param('claim') }, param('errorMessage'));
        default:
          throw new NodeOperationError(this.getNode(), `Operation "${operation}" is unknown`, { itemIndex: item, description: 'Use one of log, claim, complete, fail.' });
      }
    });
  }
}
