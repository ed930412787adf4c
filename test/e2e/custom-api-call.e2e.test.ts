import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { LtstEmbeddingsApi } from '../../credentials/LtstEmbeddingsApi.credentials';
import { LtstMemoryPostgresApi } from '../../credentials/LtstMemoryPostgresApi.credentials';
import { LtstLogEvent } from '../../nodes/LtstLogEvent/LtstLogEvent.node';
import { LtstMemoryMaintenance } from '../../nodes/LtstMemoryMaintenance/LtstMemoryMaintenance.node';
import { LtstRetrieveContext } from '../../nodes/LtstRetrieveContext/LtstRetrieveContext.node';
import { LtstStoreMessage } from '../../nodes/LtstStoreMessage/LtstStoreMessage.node';
import { LtstUpsertPreference } from '../../nodes/LtstUpsertPreference/LtstUpsertPreference.node';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const n8n = require('../../scripts/n8n-harness');

/**
 * n8n 2.41.1 itself decides, when it loads the package, whether a node gets a "Custom API Call"
 * operation: its LoadNodesAndCredentials.injectCustomApiCallOptions, run here in a child process
 * (n8n's module graph is too large for jest's registry) on this package's descriptions.
 */
const INJECT = `
const { LoadNodesAndCredentials } = require(process.argv[1] + '/dist/load-nodes-and-credentials.js');
const types = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const loader = Object.create(LoadNodesAndCredentials.prototype);
Object.assign(loader, { types, logger: { warn: (message) => { throw new Error(message); } } });
loader.injectCustomApiCallOptions();
process.stdout.write(JSON.stringify(types.nodes));
`;

interface Described { name: string; properties: { name: string; options?: { value?: unknown }[] }[] }

// An e2e test: `npm run test:e2e` installs n8n first, so it always runs (never skipped).
describe("n8n's Custom API Call option", () => {
  it('is added to none of the nodes: no credential of the package lets n8n sign arbitrary requests', () => {
    const nodes = [LtstStoreMessage, LtstRetrieveContext, LtstUpsertPreference, LtstLogEvent, LtstMemoryMaintenance].map((Node) => new Node().description);
    const credentials = [new LtstMemoryPostgresApi(), new LtstEmbeddingsApi()];
    const input = JSON.stringify({ nodes, credentials });
    const output = execFileSync(process.execPath, ['-e', INJECT, path.resolve(n8n.n8nPaths().n8nPkg)], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
    const offering = (JSON.parse(output) as Described[])
      .filter((node) => node.properties.some((p) => ['resource', 'operation'].includes(p.name) && p.options?.some((o) => o.value === '__CUSTOM_API_CALL__')))
      .map((node) => node.name);
    expect(offering).toEqual([]);
  });
});
