import fs from 'node:fs';
import path from 'node:path';
import { NodeHelpers, Workflow, type INodeParameters, type INodeProperties, type INodeType, type INodeTypeDescription, type INodeTypes } from 'n8n-workflow';
import { LtstEmbeddingsApi } from '../../credentials/LtstEmbeddingsApi.credentials';
import { LtstMemoryPostgresApi } from '../../credentials/LtstMemoryPostgresApi.credentials';
import { LtstLogEvent } from '../../nodes/LtstLogEvent/LtstLogEvent.node';
import { LtstMemoryMaintenance } from '../../nodes/LtstMemoryMaintenance/LtstMemoryMaintenance.node';
import { LtstUpsertPreference } from '../../nodes/LtstUpsertPreference/LtstUpsertPreference.node';

const preference = new LtstUpsertPreference().description;
const logEvent = new LtstLogEvent().description;
const maintenance = new LtstMemoryMaintenance().description;
const mine = [preference, logEvent, maintenance];

/** The subtitle as n8n computes it for the canvas: its expression evaluated by n8n-workflow on a node with these parameters. */
function subtitle(description: INodeTypeDescription, parameters: Record<string, unknown>): string {
  const nodeType = { description } as INodeType;
  const nodeTypes = { getByName: () => nodeType, getByNameAndVersion: () => nodeType, getKnownTypes: () => ({}) } as unknown as INodeTypes;
  const node = { id: 'n1', name: 'Node', type: description.name, typeVersion: 1, position: [0, 0] as [number, number], parameters: parameters as never };
  const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
  return workflow.expression.getSimpleParameterValue(node, String(description.subtitle), 'internal', {}) as string;
}

const visible = (description: INodeTypeDescription, values: INodeParameters) =>
  description.properties.filter((p) => NodeHelpers.displayParameter(values, p, null, description)).map((p) => p.name);

describe('the panels of Upsert Preference, Log Event and Memory Maintenance', () => {
  it('have subtitles with the names the Operation list shows, and no dangling colon', () => {
    expect(subtitle(maintenance, { operation: 'cleanExpired' })).toBe('Clean Expired');
    expect(subtitle(maintenance, { operation: 'deleteUserData' })).toBe('Delete User Data');
    expect(subtitle(preference, { operation: 'list' })).toBe('List');
    expect(subtitle(preference, { operation: 'upsert', key: 'language' })).toBe('Create or Update: language');
    expect(subtitle(preference, { operation: 'delete', key: '' })).toBe('Delete');
    expect(subtitle(logEvent, { operation: 'log', eventType: 'memory.summarise' })).toBe('Log: memory.summarise');
    expect(subtitle(logEvent, { operation: 'claim', eventType: '' })).toBe('Claim Pending');
  });

  it('put the credential first: no credential shows on a parameter (n8n then places it above that parameter)', () => {
    // The editor's rule: the credentials go just above the last visible parameter named in a credential's `show`, else first.
    for (const description of mine) {
      expect((description.credentials ?? []).flatMap((credential) => Object.keys(credential.displayOptions?.show ?? {}))).toEqual([]);
    }
  });

  it('ask for the embeddings credential only for Backfill Embeddings with the OpenAI-compatible API', () => {
    const embeddings = maintenance.credentials!.find((credential) => credential.name === 'ltstEmbeddingsApi')!;
    const shown = (values: INodeParameters) => NodeHelpers.displayParameter(values, embeddings as unknown as INodeProperties, null, maintenance);
    expect(shown({ operation: 'backfillEmbeddings', embeddings: 'openai' })).toBe(true);
    expect(shown({ operation: 'backfillEmbeddings', embeddings: 'local' })).toBe(false);
    for (const operation of ['health', 'migrate', 'cleanExpired', 'archiveSessions', 'import', 'exportUserData', 'deleteUserData']) {
      expect(shown({ operation, embeddings: 'local' })).toBe(false);
    }
  });

  it('warn before Delete User Data, and leak no expression into a placeholder', () => {
    expect(visible(maintenance, { operation: 'deleteUserData' })).toContain('deleteUserDataNotice');
    expect(visible(maintenance, { operation: 'exportUserData' })).not.toContain('deleteUserDataNotice');
    const notice = maintenance.properties.find((p) => p.name === 'deleteUserDataNotice')!;
    expect(notice).toMatchObject({ type: 'notice', displayName: expect.stringMatching(/cannot be undone/) });
    for (const description of mine) {
      for (const p of description.properties) expect(String(p.placeholder ?? '')).not.toMatch(/^=|\{\{/);
    }
  });

  it("leave Confidence out until it is added: absent means the source's default, not 0", () => {
    expect(preference.properties.map((p) => p.name)).not.toContain('confidence');
    const options = preference.properties.find((p) => p.name === 'options')!;
    expect(options).toMatchObject({ type: 'collection', default: {}, displayOptions: { show: { operation: ['upsert'] } } });
    expect(options.options).toEqual([expect.objectContaining({ name: 'confidence', typeOptions: expect.objectContaining({ minValue: 0.01, maxValue: 1 }) })]);
  });

  it('name each SSL mode by what it does, keeping the saved values', () => {
    const ssl = new LtstMemoryPostgresApi().properties.find((p) => p.name === 'ssl')!;
    const options = ssl.options as { name: string; value: string }[];
    expect(options.map((o) => o.value)).toEqual(['disable', 'allow', 'require', 'verify-full']);
    expect(options.find((o) => o.value === 'allow')!.name).toMatch(/^Unencrypted/);
    expect(options.find((o) => o.value === 'disable')!.name).toMatch(/^Unencrypted/);
    expect(options.find((o) => o.value === 'require')!.name).toMatch(/^Encrypted, Certificate Not Checked/);
  });

  it("says where to read the database facts, which n8n's editor drops from a passing credential test", () => {
    const notice = new LtstMemoryPostgresApi().properties.find((p) => p.type === 'notice');
    expect(notice?.displayName).toMatch(/PostgreSQL and pgvector versions and the schema version.*Memory Maintenance with Health/);
  });
});

describe("the credentials' Docs links", () => {
  it("open the README's Credentials section", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toMatch(/^### Credentials$/m);
    for (const credential of [new LtstMemoryPostgresApi(), new LtstEmbeddingsApi()]) {
      expect(credential.documentationUrl).toBe('https://www.npmjs.com/package/n8n-nodes-ltst-memory#credentials');
    }
  });
});
