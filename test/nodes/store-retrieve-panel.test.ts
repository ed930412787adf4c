import { Workflow, type INode, type INodeType, type INodeTypeDescription, type INodeTypes } from 'n8n-workflow';
import { LtstRetrieveContext } from '../../nodes/LtstRetrieveContext/LtstRetrieveContext.node';
import { LtstStoreMessage } from '../../nodes/LtstStoreMessage/LtstStoreMessage.node';

/** The subtitle as the canvas shows it, evaluated by n8n's own expression engine. */
function subtitle(description: INodeTypeDescription, parameters: Record<string, string>): unknown {
  const nodeType = { description } as INodeType;
  const nodeTypes = { getByName: () => nodeType, getByNameAndVersion: () => nodeType, getKnownTypes: () => ({}) } as unknown as INodeTypes;
  const node: INode = { id: 'n1', name: 'Node', type: description.name, typeVersion: 1, position: [0, 0], parameters };
  const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
  return workflow.expression.getSimpleParameterValue(node, description.subtitle!, 'internal', {});
}

const store = new LtstStoreMessage().description;
const retrieve = new LtstRetrieveContext().description;

describe('Store Message and Retrieve Context in the editor', () => {
  it.each([
    ['Store Message', store],
    ['Retrieve Context', retrieve],
  ])('%s puts the credential first: the editor draws the credentials slot where a "credentials" parameter is', (_name, description) => {
    expect(description.properties[0]).toMatchObject({ type: 'credentials' });
  });

  it('says in words what Store Message stores, for every role', () => {
    const roles = (store.properties.find((p) => p.name === 'role')!.options as Array<{ value: string }>).map((o) => o.value);
    expect(roles.map((role) => subtitle(store, { role }))).toEqual(['Store a human message', 'Store an AI reply', 'Store a system message', 'Store a tool result']);
  });

  it('says in words what Retrieve Context outputs', () => {
    expect(subtitle(retrieve, { output: 'bundle' })).toBe('Recall memory for a prompt');
    expect(subtitle(retrieve, { output: 'prompt' })).toBe('Recall as prompt text');
  });

  it('explains Content, Role, Embeddings and Output under them, and the first use of the local model', () => {
    const hintOf = (description: INodeTypeDescription, name: string) => description.properties.find((p) => p.name === name)?.hint;
    for (const [description, name] of [[store, 'content'], [store, 'role'], [store, 'embeddings'], [retrieve, 'output'], [retrieve, 'embeddings']] as const) {
      expect(hintOf(description, name)).toEqual(expect.stringMatching(/\w{4,}/));
    }
    for (const description of [store, retrieve]) {
      expect(description.properties.find((p) => p.type === 'notice')).toMatchObject({ displayOptions: { show: { embeddings: ['local'] } } });
    }
  });

  it('offers Include Details on Retrieve Context, off by default', () => {
    const options = retrieve.properties.find((p) => p.name === 'options')!.options as Array<{ name: string; default: unknown }>;
    expect(options.find((o) => o.name === 'includeDetails')).toMatchObject({ default: false });
  });
});
