import fs from 'node:fs';
import path from 'node:path';

// Runs n8n's own code on the codex files: the node creator's search filter, read out of the
// installed editor bundle, and the codex n8n gives the generated Tool variants.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { paths } = require('../../scripts/n8n-install');

const ROOT = path.join(__dirname, '..', '..');
const n8nPkg: string = paths().n8nPkg;
const editorAssets = path.join(path.dirname(require.resolve('n8n-editor-ui/package.json', { paths: [n8nPkg] })), 'dist', 'assets');

interface Codex {
  categories?: string[];
  subcategories?: Record<string, string[]>;
  alias?: string[];
  resources?: { primaryDocumentation?: Array<{ url: string }> };
}
interface CreatorItem {
  type: 'node';
  key: string;
  properties: { displayName: string; codex: Codex };
}

// The editor drops these items from every search outside the AI panels (useViewStacks'
// filterOutAiNodes, minified): an "AI" node stays only if its AI subcategories hold "Root Nodes".
const FILTER = /function \w+\(e\)\{return e\.filter\(e=>e\.type===`node`&&e\.properties\.codex\?\.categories\?\.includes\(`AI`\)===!0\?e\.properties\.codex\?\.subcategories\?\.AI\?\.includes\((\w+)\):!0\)\}/;

/** The filter as n8n ships it, with the constant it compares against resolved through the bundle's imports. */
function n8nSearchFilter(): { filter: (items: CreatorItem[]) => CreatorItem[]; constant: string } {
  for (const file of fs.readdirSync(editorAssets).filter((f) => f.endsWith('.js'))) {
    const code = fs.readFileSync(path.join(editorAssets, file), 'utf8');
    const found = FILTER.exec(code);
    if (!found) continue;
    const local = found[1];
    const imported = new RegExp(`import\\{([^}]*)\\}from"\\./(constants-[\\w-]+\\.js)"`).exec(code)!;
    const exportName = imported[1].split(',').map((s) => s.split(' as ')).find(([, alias]) => alias === local)![0];
    const constants = fs.readFileSync(path.join(editorAssets, imported[2]), 'utf8');
    const exported = /export\{([^}]*)\}/.exec(constants)![1].split(',').map((s) => s.split(' as '));
    const inner = exported.find(([, alias]) => alias === exportName)![0];
    const constant = new RegExp(`[^\\w$]${inner.replace('$', '\\$')}=\`([^\`]*)\``).exec(constants)![1];
    const filter = new Function(local, `return (${found[0].replace(/^function \w+/, 'function')})`)(constant);
    return { filter, constant };
  }
  throw new Error(`the node creator's AI filter was not found in ${editorAssets}: n8n's editor changed`);
}

const nodeFolders = ['LtstStoreMessage', 'LtstRetrieveContext', 'LtstUpsertPreference', 'LtstLogEvent', 'LtstMemoryMaintenance'];

function creatorItem(folder: string): CreatorItem {
  const codex = JSON.parse(fs.readFileSync(path.join(ROOT, 'nodes', folder, `${folder}.node.json`), 'utf8')) as Codex;
  const source = fs.readFileSync(path.join(ROOT, 'nodes', folder, `${folder}.node.ts`), 'utf8');
  const displayName = /displayName: '(LTST [^']+)'/.exec(source)![1];
  return { type: 'node', key: folder, properties: { displayName, codex } };
}

describe("n8n's node creator and the nodes' codex", () => {
  const { filter, constant } = n8nSearchFilter();
  const items = nodeFolders.map(creatorItem);

  it('keeps every node in searches outside the AI panels', () => {
    expect(constant).toBe('Root Nodes');
    expect(filter(items).map((item) => item.key)).toEqual(nodeFolders);
  });

  it('lets search find each node by "ltst" and by its name (search reads displayName and codex.alias)', () => {
    for (const { properties } of items) {
      expect(properties.codex.alias).toContain('ltst');
      expect(properties.displayName).toMatch(/^LTST /);
    }
  });

  it('files them beside n8n\'s Chat Memory Manager (AI > Miscellaneous) and under Data & Storage', () => {
    for (const { properties } of items) {
      expect(properties.codex.categories).toEqual(['AI', 'Data & Storage']);
      expect(properties.codex.subcategories).toEqual({ AI: ['Miscellaneous', 'Root Nodes'] });
    }
  });

  it("keeps the Tool variants under AI > Tools, with the node's alias and docs link", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { setToolCodex } = require(path.join(n8nPkg, 'dist', 'tool-generation', 'utils.js'));
    for (const item of items) {
      const description = { codex: structuredClone(item.properties.codex) };
      setToolCodex(description, 'Other Tools', true);
      expect(description.codex).toEqual({
        categories: ['AI'],
        subcategories: { AI: ['Tools'], Tools: ['Other Tools'] },
        resources: item.properties.codex.resources,
        alias: item.properties.codex.alias,
      });
    }
  });

  it('links each node to its own README section', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const anchors = new Set(readme.split('\n').filter((line) => line.startsWith('#')).map((line) => line.replace(/^#+\s*/, '').toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
    for (const { properties } of items) {
      const url = properties.codex.resources!.primaryDocumentation![0].url;
      const [page, anchor] = url.split('#');
      expect(page).toBe('https://www.npmjs.com/package/n8n-nodes-ltst-memory');
      expect(anchors).toContain(anchor);
      expect(anchor).toBe(properties.displayName.toLowerCase().replace(/ /g, '-'));
    }
  });
});
