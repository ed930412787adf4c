import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** What `npm pack` would publish, from the built dist (npm test builds first). */
function packed(): { size: number; files: string[] } {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [report] = JSON.parse(output) as Array<{ size: number; files: Array<{ path: string }> }>;
  return { size: report.size, files: report.files.map((f) => f.path) };
}

describe('the npm package', () => {
  it('contains dist, the README, the LICENSE and package.json only, with every node, credential and asset', () => {
    const { size, files } = packed();
    expect(files.filter((file) => !file.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(file))).toEqual([]);
    const manifest = require(path.join(ROOT, 'package.json')) as { n8n: { nodes: string[]; credentials: string[] }; dependencies?: object };
    expect(files).toEqual(expect.arrayContaining([...manifest.n8n.nodes, ...manifest.n8n.credentials, 'README.md', 'LICENSE', 'dist/core/index.js', 'dist/cli/ltst-memory.js', 'dist/assets/pglite/pglite.wasm', 'dist/assets/use-lite/model.json', 'dist/migrations/0001_core.sql']));
    expect(manifest.dependencies ?? {}).toEqual({});
    // Each node ships its codex (categories, docs link) and its own light and dark icon.
    const nodeDirs = manifest.n8n.nodes.map((file) => path.dirname(file));
    const assets = nodeDirs.flatMap((dir) => [`${dir}/${path.basename(dir)}.node.json`, `${dir}/ltst.svg`, `${dir}/ltst.dark.svg`]);
    expect(files).toEqual(expect.arrayContaining(assets));
    for (const variant of ['ltst.svg', 'ltst.dark.svg']) {
      const icons = new Set(nodeDirs.map((dir) => fs.readFileSync(path.join(ROOT, dir, variant), 'utf8')));
      expect(icons.size).toBe(nodeDirs.length);
    }
    // Reported, not asserted: the size is in the README.
    console.log(`npm pack: ${files.length} files, tarball ${(size / 2 ** 20).toFixed(1)} MiB`);
  });
});

describe("n8n's community-node lint", () => {
  it('passes `n8n-node lint` (the configuration without n8n Cloud support)', () => {
    // Without jest's NODE_ENV=test, under which n8n's eslint plugin checks files as in its own tests.
    const { NODE_ENV, ...env } = process.env;
    const lint = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'n8n-node'), ['lint'], { cwd: ROOT, encoding: 'utf8', env: { ...env, FORCE_COLOR: '0' } });
    // On failure the message carries eslint's report.
    expect({ status: lint.status, output: `${lint.stdout}${lint.stderr}`.replace(/\u001b\[[0-9;]*m/g, '') }).toEqual({ status: 0, output: expect.not.stringMatching(/error|warning/) });
  }, 120_000);
});
