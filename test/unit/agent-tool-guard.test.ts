import { NodeHelpers, NodeOperationError, type INode, type INodeProperties, type INodePropertyOptions, type INodeTypeDescription } from 'n8n-workflow';
import { LtstLogEvent } from '../../nodes/LtstLogEvent/LtstLogEvent.node';
import { LtstMemoryMaintenance } from '../../nodes/LtstMemoryMaintenance/LtstMemoryMaintenance.node';
import { LtstUpsertPreference } from '../../nodes/LtstUpsertPreference/LtstUpsertPreference.node';
import { refuseAgentToolOperation, runsAsAgentTool } from '../../nodes/shared/agent-tool-guard';

const PACKAGE = 'n8n-nodes-ltst-memory';

/** The operations n8n's editor offers in the Operation list: it keeps an option whose displayOptions n8n-workflow's displayParameter accepts. */
function offeredOperations(description: INodeTypeDescription, asTool: boolean): string[] {
  const name = `${PACKAGE}.${description.name}${asTool ? 'Tool' : ''}`;
  const typeDescription = { ...description, name };
  const node: INode = { id: 'n', name: 'Node', type: name, typeVersion: 1, position: [0, 0], parameters: {} };
  const operation = description.properties.find((p) => p.name === 'operation') as INodeProperties;
  return (operation.options as INodePropertyOptions[])
    .filter((option) => !option.displayOptions || NodeHelpers.displayParameter({}, option, node, typeDescription))
    .map((option) => String(option.value));
}

const toolNode = (type: string, rewired = false): INode => ({
  id: 't',
  name: 'Tool',
  type,
  typeVersion: 1,
  position: [0, 0],
  parameters: {},
  ...(rewired ? { rewireOutputLogTo: 'ai_tool' as const } : {}),
});

describe('what an AI agent is offered and may run', () => {
  it.each([
    ['Memory Maintenance', new LtstMemoryMaintenance().description, ['health'], 8],
    ['Log Event', new LtstLogEvent().description, ['log'], 4],
    ['Upsert Preference', new LtstUpsertPreference().description, ['upsert', 'get', 'list'], 4],
  ])('%s: the tool variant offers only its safe operations, the regular node all of them', (_label, description, safe, all) => {
    expect(offeredOperations(description, true)).toEqual(safe);
    expect(offeredOperations(description, false)).toHaveLength(all);
  });

  it('tells a tool run from a regular one by its `<name>Tool` type, or by a run n8n logs under the agent', () => {
    expect(runsAsAgentTool(toolNode(`${PACKAGE}.ltstMemoryMaintenanceTool`))).toBe(true);
    expect(runsAsAgentTool(toolNode(`${PACKAGE}.ltstMemoryMaintenance`, true))).toBe(true);
    expect(runsAsAgentTool(toolNode(`${PACKAGE}.ltstMemoryMaintenance`))).toBe(false);
  });

  const options: INodePropertyOptions[] = [
    { name: 'Health', value: 'health' },
    { name: 'Delete User Data', value: 'deleteUserData' },
  ];
  const policy = { node: 'LTST Memory Maintenance', allowed: ['health'] };
  const refusal = (type: string, operation: unknown) => {
    try {
      refuseAgentToolOperation(toolNode(type), operation, options, policy, 0);
      return undefined;
    } catch (error) {
      return error as NodeOperationError;
    }
  };

  it('refuses, as a tool, every operation outside the policy, whatever value the parameter resolved to', () => {
    const tool = `${PACKAGE}.ltstMemoryMaintenanceTool`;
    expect(refusal(tool, 'health')).toBeUndefined();
    const error = refusal(tool, 'deleteUserData');
    expect(error).toBeInstanceOf(NodeOperationError);
    expect(error?.message).toBe('Delete User Data cannot run as an AI agent tool: run it from a regular LTST Memory Maintenance node in a workflow, not an agent tool');
    expect(error?.description).toMatch(/runs only Health/);
    expect(error?.context.itemIndex).toBe(0);
    // A value the model made up, or none at all, is refused too (and quoted, cut to 60 characters).
    expect(refusal(tool, 'x'.repeat(100))?.message).toMatch(/^"x{60}…" cannot run as an AI agent tool/);
    expect(refusal(tool, undefined)?.message).toMatch(/^"undefined" cannot run/);
    expect(refusal(tool, ['health'])?.message).toMatch(/^"\["health"\]" cannot run/);
  });

  it('lets a regular node run every operation', () => {
    expect(refusal(`${PACKAGE}.ltstMemoryMaintenance`, 'deleteUserData')).toBeUndefined();
  });
});
