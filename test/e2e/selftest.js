#!/usr/bin/env node
'use strict';
/**
 * Proves the harness end to end against a real n8n, without our package:
 *   1. built-in nodes only: test/e2e/workflows/smoke.json (Manual Trigger -> Set -> Code);
 *   2. a tiny community package generated in a temp dir (a node that outputs { hello: 'world' }
 *      and a credential type), packed with `npm pack`, installed with installPackage(), plus a
 *      credential imported with importCredentials() and read by the node.
 *
 *   node scripts/n8n-install.js && node test/e2e/selftest.js
 *
 * Exits non-zero on the first failed check. Prints timings.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const assert = require('assert');
const h = require('../../scripts/n8n-harness');

const PKG = 'n8n-nodes-ltst-hello';

function writeTinyPackage(dir) {
  fs.mkdirSync(path.join(dir, 'dist', 'nodes'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'dist', 'credentials'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify(
      {
        name: PKG,
        version: '0.0.1',
        description: 'Tiny community node used by the ltst e2e harness self-test',
        keywords: ['n8n-community-node-package'],
        license: 'MIT',
        files: ['dist'],
        n8n: {
          n8nNodesApiVersion: 1,
          strict: true,
          credentials: ['dist/credentials/LtstHelloApi.credentials.js'],
          nodes: ['dist/nodes/HelloWorld.node.js'],
        },
        peerDependencies: { 'n8n-workflow': '*' },
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(
    path.join(dir, 'dist', 'nodes', 'HelloWorld.node.js'),
    `'use strict';
Object.defineProperty(exports, '__esModule', { value: true });
exports.HelloWorld = void 0;
// Resolved from n8n's own node_modules (n8n puts them on NODE_PATH); not installed with the package.
const { NodeConnectionTypes } = require('n8n-workflow');
class HelloWorld {
  constructor() {
    this.description = {
      displayName: 'Hello World',
      name: 'helloWorld',
      group: ['transform'],
      version: 1,
      description: 'Outputs { hello: "world" }',
      defaults: { name: 'Hello World' },
      inputs: [NodeConnectionTypes.Main],
      outputs: [NodeConnectionTypes.Main],
      credentials: [{ name: 'ltstHelloApi', required: false }],
      properties: [],
    };
  }
  async execute() {
    const items = this.getInputData();
    let secret;
    try {
      const creds = await this.getCredentials('ltstHelloApi');
      secret = creds && creds.secret;
    } catch (e) {
      secret = undefined; // no credential selected
    }
    return [items.map((_, i) => ({ json: secret === undefined ? { hello: 'world' } : { hello: 'world', secret }, pairedItem: { item: i } }))];
  }
}
exports.HelloWorld = HelloWorld;
`,
  );
  fs.writeFileSync(
    path.join(dir, 'dist', 'credentials', 'LtstHelloApi.credentials.js'),
    `'use strict';
Object.defineProperty(exports, '__esModule', { value: true });
exports.LtstHelloApi = void 0;
class LtstHelloApi {
  constructor() {
    this.name = 'ltstHelloApi';
    this.displayName = 'LTST Hello API';
    this.properties = [{ displayName: 'Secret', name: 'secret', type: 'string', typeOptions: { password: true }, default: '' }];
  }
}
exports.LtstHelloApi = LtstHelloApi;
`,
  );
}

function workflow(id, withCredential) {
  const hello = {
    id: 'b1f0c0de-0000-4000-8000-000000000002',
    name: 'Hello',
    type: `${PKG}.helloWorld`,
    typeVersion: 1,
    position: [220, 0],
    parameters: {},
  };
  if (withCredential) hello.credentials = { ltstHelloApi: { id: 'ltstHelloCred001', name: 'hello cred' } };
  return {
    id,
    name: `ltst e2e community package ${withCredential ? '+ credential' : ''}`,
    settings: { executionOrder: 'v1' },
    nodes: [
      { id: 'b1f0c0de-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
      hello,
    ],
    connections: { Start: { main: [[{ node: 'Hello', type: 'main', index: 0 }]] } },
  };
}

async function main() {
  const timings = {};
  const tick = (k, t0) => (timings[k] = Date.now() - t0);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-selftest-'));
  const env = await h.createEnv();
  try {
    // 1. built-in nodes only
    let t0 = Date.now();
    const smokeId = h.importWorkflow(env, path.join(__dirname, 'workflows', 'smoke.json'));
    tick('importWorkflow (first command, runs DB migrations)', t0);
    t0 = Date.now();
    const smoke = h.executeWorkflow(env, smokeId);
    tick('executeWorkflow smoke (Set + Code via task runner)', t0);
    assert.deepStrictEqual(h.nodeItems(smoke, 'Set'), [{ greeting: 'hello', count: 3 }]);
    assert.deepStrictEqual(h.lastNodeItems(smoke), [{ greeting: 'hello', count: 3, doubled: 6, fromCode: true }]);
    console.log('ok 1 - built-in smoke workflow: Set + Code output as expected');

    // 2. tiny community package
    const pkgDir = path.join(tmp, 'pkg');
    writeTinyPackage(pkgDir);
    t0 = Date.now();
    const tgz = h.packPackage(pkgDir, tmp);
    tick('npm pack', t0);
    const inst = h.installPackage(env, tgz);
    timings['installPackage'] = inst.ms;
    assert.strictEqual(inst.name, PKG);

    const wfFile = path.join(tmp, 'hello.json');
    fs.writeFileSync(wfFile, JSON.stringify(workflow('ltstHelloWf00001', false)));
    t0 = Date.now();
    const helloId = h.importWorkflow(env, wfFile);
    tick('importWorkflow', t0);
    t0 = Date.now();
    const hello = h.executeWorkflow(env, helloId);
    tick('executeWorkflow community node', t0);
    assert.deepStrictEqual(h.nodeItems(hello, 'Hello'), [{ hello: 'world' }]);
    console.log(`ok 2 - community node type "${PKG}.helloWorld" outputs { hello: 'world' }`);

    // 3. credential import (data given in plain text, encrypted by n8n with N8N_ENCRYPTION_KEY)
    const credFile = path.join(tmp, 'creds.json');
    fs.writeFileSync(credFile, JSON.stringify([{ id: 'ltstHelloCred001', name: 'hello cred', type: 'ltstHelloApi', data: { secret: 's3cr3t' } }]));
    t0 = Date.now();
    h.importCredentials(env, credFile);
    tick('importCredentials', t0);
    fs.writeFileSync(wfFile, JSON.stringify(workflow('ltstHelloWf00002', true)));
    const credWfId = h.importWorkflow(env, wfFile);
    t0 = Date.now();
    const withCred = h.executeWorkflow(env, credWfId);
    tick('executeWorkflow community node + credential', t0);
    assert.deepStrictEqual(h.nodeItems(withCred, 'Hello'), [{ hello: 'world', secret: 's3cr3t' }]);
    console.log('ok 3 - imported credential is decrypted and passed to the community node');

    // 4. a failing run is reported as an error, with the run data available
    const badFile = path.join(tmp, 'bad.json');
    const bad = workflow('ltstHelloWf00003', false);
    bad.nodes[1].type = 'n8n-nodes-base.code';
    bad.nodes[1].typeVersion = 2;
    bad.nodes[1].parameters = { jsCode: "throw new Error('boom from code')" };
    fs.writeFileSync(badFile, JSON.stringify(bad));
    const badId = h.importWorkflow(env, badFile);
    assert.throws(() => h.executeWorkflow(env, badId), /boom from code/);
    const badOut = h.executeWorkflow(env, badId, { allowError: true });
    assert.match(JSON.stringify(badOut.data.resultData.error), /boom from code/);
    console.log('ok 4 - a failing workflow throws; { allowError: true } returns its run data');

    console.log('timings (ms):', JSON.stringify(timings, null, 2));
  } finally {
    env.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error('not ok -', e.stack || e.message);
  process.exit(1);
});
