import { NodeConnectionTypes, NodeOperationError, type INode, type INodePropertyOptions } from 'n8n-workflow';

/**
 * What an AI agent may do with a node handed to it as a tool. n8n builds a `<name>Tool` variant of
 * every node with `usableAsTool`, and the model fills in its `$fromAI()` parameters, so a prompt
 * injection controls them. Only the operations listed here run for an agent; every other one is
 * destructive or administrative (deleting or exporting a user, migrating, settling events that
 * other workflows hold) and is refused, whatever the parameters say, expressions included.
 */
export interface AgentToolPolicy {
  /** The node as people know it, for the advice: "LTST Memory Maintenance". */
  node: string;
  /** The operations an agent tool may run. */
  allowed: readonly string[];
}

/**
 * True when n8n runs this node as an agent's tool: its `<name>Tool` variant (the only form an AI
 * Agent or an MCP server can call; no node of this package ends in "Tool" otherwise), or a run that
 * n8n logs under the agent's tool connection.
 */
export function runsAsAgentTool(node: INode): boolean {
  return node.type.endsWith('Tool') || node.rewireOutputLogTo === NodeConnectionTypes.AiTool;
}

/**
 * The Operation options with those an agent may not run hidden in the tool variant: n8n's editor
 * evaluates an option's displayOptions, and `@tool` is true only in the `<name>Tool` variant.
 */
export function agentToolOptions(options: INodePropertyOptions[], policy: AgentToolPolicy): INodePropertyOptions[] {
  return options.map((option) =>
    policy.allowed.includes(String(option.value)) ? option : { ...option, displayOptions: { show: { '@tool': [false] } } },
  );
}

/** An operation's name as the editor shows it, else its value (at most 60 characters: it may come from the model). */
function operationLabel(operation: unknown, options: INodePropertyOptions[]): string {
  const known = options.find((option) => option.value === operation);
  if (known) return known.name;
  const text = typeof operation === 'string' ? operation : JSON.stringify(operation) ?? String(operation);
  return `"${text.length > 60 ? `${text.slice(0, 60)}…` : text}"`;
}

/**
 * Throws, for this item, when the node runs as an agent's tool and the operation (its resolved
 * value) is not one the policy allows. The message says what to do: n8n hands only the message to
 * the model and to the person reading the execution.
 */
export function refuseAgentToolOperation(node: INode, operation: unknown, options: INodePropertyOptions[], policy: AgentToolPolicy, itemIndex: number): void {
  if (!runsAsAgentTool(node) || (typeof operation === 'string' && policy.allowed.includes(operation))) return;
  const allowed = policy.allowed.map((value) => operationLabel(value, options)).join(', ');
  throw new NodeOperationError(node, `${operationLabel(operation, options)} cannot run as an AI agent tool: run it from a regular ${policy.node} node in a workflow, not an agent tool`, {
    itemIndex,
    description: `As an agent tool, ${policy.node} runs only ${allowed}. Destructive and administrative operations never run for an agent, whatever its parameters or the model say.`,
  });
}
