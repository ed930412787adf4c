'use strict';
/**
 * Harness that drives a real n8n (2.41.1, under Node 24) from plain Node (20 is fine).
 *
 * Prerequisite: `node scripts/n8n-install.js` (idempotent; cache in $LTST_N8N_CACHE or
 * ~/.cache/ltst-n8n).
 *
 *   const h = require('./scripts/n8n-harness');
 *   const env = await h.createEnv();                 // fresh N8N_USER_FOLDER, free ports, sqlite
 *   try {
 *     h.installPackage(env, '/tmp/pkg-0.1.0.tgz');   // like the Community Nodes panel
 *     h.importCredentials(env, 'creds.json');        // optional
 *     const id = h.importWorkflow(env, 'wf.json');
 *     const out = h.executeWorkflow(env, id);       // parsed --rawOutput JSON (IRun data)
 *     h.lastNodeItems(out);                          // [{...json}, ...] of the last node run
 *   } finally {
 *     env.dispose();                                 // removes the temp folder
 *   }
 *
 * Every n8n command runs in its own process group with a timeout; the whole group is killed when
 * the command ends, times out, or when this process exits, so no n8n or task-runner process
 * outlives a call.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const crypto = require('crypto');
const { spawnSync, spawn } = require('child_process');

const install = require('./n8n-install.js');

const DEFAULT_TIMEOUT_MS = Number(process.env.LTST_N8N_TIMEOUT_MS || 180000);

// ---------------------------------------------------------------------------------------------
// Installation paths

let cachedPaths = null;
/** Paths of the cached Node 24 and n8n; throws with a hint if scripts/n8n-install.js was not run. */
function n8nPaths() {
  if (cachedPaths) return cachedPaths;
  const p = install.paths();
  if (!fs.existsSync(p.marker) || !fs.existsSync(p.node) || !fs.existsSync(p.n8nBin)) {
    throw new Error(`n8n is not installed in ${p.cache}: run \`node scripts/n8n-install.js\` first`);
  }
  cachedPaths = p;
  return p;
}

/** True when scripts/n8n-install.js has completed (useful to skip e2e tests). */
function isInstalled() {
  try {
    n8nPaths();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Environments

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function distinctFreePorts(n) {
  const out = new Set();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

/**
 * A fresh, isolated n8n environment.
 * @param {object} [opts]
 * @param {string} [opts.userFolder]      N8N_USER_FOLDER (default: new temp dir, removed by dispose)
 * @param {string} [opts.encryptionKey]   N8N_ENCRYPTION_KEY (default: random; keep it for creds)
 * @param {number} [opts.port]            N8N_PORT (default: a free port)
 * @param {number} [opts.brokerPort]      N8N_RUNNERS_BROKER_PORT (default: a free port)
 * @param {object} [opts.vars]            extra environment variables for every n8n command
 * @param {number} [opts.timeoutMs]       default timeout per n8n command
 * @returns {Promise<{userFolder:string,n8nFolder:string,vars:object,port:number,brokerPort:number,timeoutMs:number,dispose:Function}>}
 */
async function createEnv(opts = {}) {
  const p = n8nPaths();
  const ownFolder = !opts.userFolder;
  const userFolder = opts.userFolder || fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-n8n-e2e-'));
  fs.mkdirSync(userFolder, { recursive: true });
  const [port, brokerPort] = opts.port && opts.brokerPort ? [opts.port, opts.brokerPort] : await distinctFreePorts(2);

  // Start from the caller's environment without any N8N_*/DB_* settings, so nothing leaks in.
  const base = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(N8N_|DB_|EXECUTIONS_|QUEUE_|GENERIC_TIMEZONE$|NODE_OPTIONS$|npm_)/.test(k)) base[k] = v;
  }
  const vars = {
    ...base,
    PATH: `${p.nodeBinDir}${path.delimiter}${process.env.PATH || ''}`,
    N8N_USER_FOLDER: userFolder,
    N8N_ENCRYPTION_KEY: opts.encryptionKey || crypto.randomBytes(24).toString('hex'),
    DB_TYPE: 'sqlite',
    N8N_PORT: String(opts.port || port),
    N8N_RUNNERS_BROKER_PORT: String(opts.brokerPort || brokerPort),
    N8N_DIAGNOSTICS_ENABLED: 'false',
    N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
    N8N_PERSONALIZATION_ENABLED: 'false',
    N8N_TEMPLATES_ENABLED: 'false',
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
    N8N_LOG_LEVEL: 'info',
    N8N_LOG_OUTPUT: 'console',
    N8N_NO_COLOR: 'true',
    NO_COLOR: '1',
    ...(opts.vars || {}),
  };
  const env = {
    userFolder,
    n8nFolder: path.join(userFolder, '.n8n'),
    vars,
    port: Number(vars.N8N_PORT),
    brokerPort: Number(vars.N8N_RUNNERS_BROKER_PORT),
    timeoutMs: opts.timeoutMs || DEFAULT_TIMEOUT_MS,
    dispose() {
      if (ownFolder) fs.rmSync(userFolder, { recursive: true, force: true });
    },
  };
  return env;
}

// ---------------------------------------------------------------------------------------------
// Running n8n commands

const liveGroups = new Set();
function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  liveGroups.delete(pid);
}
process.on('exit', () => {
  for (const pid of [...liveGroups]) killGroup(pid);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const pid of [...liveGroups]) killGroup(pid);
    process.kill(process.pid, sig);
  });
}

/**
 * Runs `n8n <args...>` under Node 24 in its own process group, synchronously, with a timeout; the
 * whole group (n8n and any task runner it started) is killed afterwards.
 * @returns {{code:number|null, signal:string|null, stdout:string, stderr:string, ms:number, timedOut:boolean}}
 */
function runN8n(env, args, opts = {}) {
  const p = n8nPaths();
  const timeoutMs = opts.timeoutMs || env.timeoutMs || DEFAULT_TIMEOUT_MS;
  const t0 = Date.now();
  // A tiny supervisor (same Node) owns the process group, so a synchronous caller still gets the
  // group killed on timeout even though spawnSync itself only kills the direct child.
  const supervisor = `
    const { spawn } = require('child_process');
    const [node, bin, timeoutMs, ...args] = process.argv.slice(1);
    const child = spawn(node, [bin, ...args], { detached: true, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
    let timedOut = false;
    const kill = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} };
    const t = setTimeout(() => { timedOut = true; kill(); }, Number(timeoutMs));
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => { kill(); process.exit(130); });
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      kill(); // the task runner and anything else n8n left in its group
      if (timedOut) { process.stderr.write('\\n[n8n-harness] TIMEOUT after ' + timeoutMs + ' ms\\n'); process.exit(124); }
      process.exit(code === null ? 128 : code);
    });
  `;
  const r = spawnSync(process.execPath, ['-e', supervisor, p.node, p.n8nBin, String(timeoutMs), ...args], {
    cwd: opts.cwd || env.userFolder,
    env: env.vars,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: timeoutMs + 15000, // backstop; the supervisor enforces timeoutMs itself
    killSignal: 'SIGKILL',
  });
  const ms = Date.now() - t0;
  return {
    code: r.status,
    signal: r.signal,
    stdout: r.stdout || '',
    stderr: r.stderr || '',
    ms,
    timedOut: r.status === 124 || !!(r.error && r.error.code === 'ETIMEDOUT'),
  };
}

/** Same as runN8n, but asynchronous (lets a test run several instances in parallel). */
function runN8nAsync(env, args, opts = {}) {
  const p = n8nPaths();
  const timeoutMs = opts.timeoutMs || env.timeoutMs || DEFAULT_TIMEOUT_MS;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(p.node, [p.n8nBin, ...args], {
      cwd: opts.cwd || env.userFolder,
      env: env.vars,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveGroups.add(child.pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      killGroup(child.pid);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0, timedOut });
    });
  });
}

/**
 * Starts a long-running n8n command (`start`, `worker`) under Node 24 in its own process group, its
 * output appended to `opts.logFile` (else dropped); the group is killed when this process exits.
 * Stop it with stopN8n. `opts.vars` adds environment variables for this process only.
 */
function startN8n(env, args, opts = {}) {
  const p = n8nPaths();
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(p.node, [p.n8nBin, ...args], { cwd: env.userFolder, env: { ...env.vars, ...(opts.vars || {}) }, detached: true, stdio: ['ignore', out, out] });
  if (opts.logFile) fs.closeSync(out);
  liveGroups.add(child.pid);
  return child;
}

/** SIGTERM to a started n8n's group (n8n finishes its executions), at most `graceMs` to exit, then the group is killed. */
async function stopN8n(child, graceMs = 30000) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    let timer;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer); // no timer left to keep the caller alive
  }
  killGroup(child.pid); // the task runner and anything else left in the group
}

function check(r, what) {
  if (r.code !== 0 || r.timedOut) {
    const err = new Error(
      `${what} failed (${r.timedOut ? 'timeout' : `exit ${r.code}`}, ${r.ms} ms)\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`,
    );
    err.result = r;
    throw err;
  }
  return r;
}

function tail(s, n = 60) {
  return String(s).trim().split('\n').slice(-n).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Community packages

/**
 * Installs a packed community node package (an `npm pack` tarball) exactly the way n8n 2.41's
 * Community Nodes panel does (CommunityPackagesService.downloadPackage):
 *   1. `tar -xzf <tgz> -C <N8N_USER_FOLDER>/.n8n/nodes/node_modules/<name> --strip-components=1`
 *   2. drop devDependencies, peerDependencies and optionalDependencies from its package.json
 *   3. `npm install --audit=false --fund=false --bin-links=false --install-strategy=shallow
 *       --ignore-scripts=true --package-lock=false` inside that folder
 *   4. record `<name>: <version>` in <N8N_USER_FOLDER>/.n8n/nodes/package.json dependencies
 * At start-up n8n scans .n8n/nodes/node_modules for folders named `n8n-nodes-*` or
 * `@scope/n8n-nodes-*` (other names are ignored!) and loads their nodes as `<package-name>.<node name>`
 * (e.g. `n8n-nodes-ltst-memory.ltstMemory`). `n8n-workflow` is not installed into the package: n8n
 * puts its own node_modules on NODE_PATH.
 * @param {object|string} envOrUserFolder  an env from createEnv, or an N8N_USER_FOLDER path
 * @param {string} tarballPath
 * @returns {{name:string, version:string, dir:string, ms:number}}
 */
function installPackage(envOrUserFolder, tarballPath) {
  const t0 = Date.now();
  const userFolder = typeof envOrUserFolder === 'string' ? envOrUserFolder : envOrUserFolder.userFolder;
  const tgz = path.resolve(tarballPath);
  if (!fs.existsSync(tgz)) throw new Error(`tarball not found: ${tgz}`);
  const nodesDir = path.join(userFolder, '.n8n', 'nodes');
  fs.mkdirSync(path.join(nodesDir, 'node_modules'), { recursive: true });
  const nodesPkgPath = path.join(nodesDir, 'package.json');
  if (!fs.existsSync(nodesPkgPath)) {
    fs.writeFileSync(nodesPkgPath, JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
  }
  const name = JSON.parse(sh('tar', ['-xzOf', tgz, 'package/package.json'])).name;
  if (!/^(@[^/]+\/)?n8n-nodes-/.test(name)) {
    process.stderr.write(`[n8n-harness] warning: "${name}" does not match n8n-nodes-* / @scope/n8n-nodes-*; n8n will not load it\n`);
  }
  const dir = path.join(nodesDir, 'node_modules', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  sh('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1']);
  const pkgJsonPath = path.join(dir, 'package.json');
  // eslint-disable-next-line no-unused-vars
  const { devDependencies, peerDependencies, optionalDependencies, ...pkg } = JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8'));
  if (!pkg.n8n) throw new Error(`${name}: package.json has no "n8n" section`);
  fs.writeFileSync(pkgJsonPath, JSON.stringify(pkg, null, 2), 'utf8');
  const p = n8nPaths();
  sh(
    'npm',
    ['install', '--audit=false', '--fund=false', '--bin-links=false', '--install-strategy=shallow', '--ignore-scripts=true', '--package-lock=false'],
    {
      cwd: dir,
      env: { ...process.env, PATH: `${p.nodeBinDir}${path.delimiter}${process.env.PATH || ''}`, npm_config_nodedir: p.nodePkg },
    },
  );
  const nodesPkg = JSON.parse(fs.readFileSync(nodesPkgPath, 'utf8'));
  nodesPkg.dependencies = { ...(nodesPkg.dependencies || {}), [name]: pkg.version };
  fs.writeFileSync(nodesPkgPath, JSON.stringify(nodesPkg, null, 2), 'utf8');
  return { name, version: pkg.version, dir, ms: Date.now() - t0 };
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10 * 60 * 1000, killSignal: 'SIGKILL', ...opts });
  if (r.error || r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error ? r.error.message : `exit ${r.status}`}\n${tail(`${r.stdout}\n${r.stderr}`)}`);
  }
  return r.stdout;
}

/** Runs `npm pack` in a package folder and returns the tarball path (in outDir, default a temp dir). */
function packPackage(pkgDir, outDir) {
  const dest = outDir || fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-pack-'));
  const out = sh('npm', ['pack', '--json', '--pack-destination', dest], { cwd: pkgDir });
  const info = JSON.parse(out.slice(out.indexOf('[')));
  return path.join(dest, info[0].filename);
}

/**
 * Packs the package in `pkgDir` and installs it into n8n's nodes folder (as the Community Nodes
 * panel does); the tarball's temporary folder is removed either way (each is about 30 MB).
 * @returns what installPackage returns
 */
function installFromSource(envOrUserFolder, pkgDir) {
  const packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-pack-'));
  try {
    return installPackage(envOrUserFolder, packPackage(pkgDir, packDir));
  } finally {
    fs.rmSync(packDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Import / execute

/**
 * Imports one workflow file (a workflow object or an array of them). A workflow without an `id`
 * gets a random one, so the caller always knows what to execute.
 * @returns {string} the id of the (first) imported workflow; all ids are on `.ids` of the array form
 */
function importWorkflow(env, file, opts = {}) {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  const list = Array.isArray(raw) ? raw : [raw];
  for (const wf of list) {
    if (!wf.id) wf.id = randomId();
    if (!wf.name) wf.name = path.basename(file, '.json');
    if (!wf.connections) wf.connections = {};
    if (!wf.settings) wf.settings = {};
  }
  const tmp = path.join(env.userFolder, `.import-wf-${randomId()}.json`);
  fs.writeFileSync(tmp, JSON.stringify(list, null, 2));
  try {
    const r = runN8n(env, ['import:workflow', `--input=${tmp}`], opts);
    check(r, `n8n import:workflow ${file}`);
    importWorkflow.lastMs = r.ms;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return list[0].id;
}

/**
 * Imports credentials. The file holds one credential or an array; each is
 * `{ id, name, type, data }` where `data` is the plain decrypted object (n8n encrypts it with
 * N8N_ENCRYPTION_KEY on import) or an already-encrypted string. A missing id is generated.
 * @returns {string[]} the credential ids
 */
function importCredentials(env, file, opts = {}) {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  const list = Array.isArray(raw) ? raw : [raw];
  for (const c of list) if (!c.id) c.id = randomId();
  const tmp = path.join(env.userFolder, `.import-cred-${randomId()}.json`);
  fs.writeFileSync(tmp, JSON.stringify(list, null, 2));
  try {
    const r = runN8n(env, ['import:credentials', `--input=${tmp}`], opts);
    check(r, `n8n import:credentials ${file}`);
    importCredentials.lastMs = r.ms;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return list.map((c) => c.id);
}

/**
 * `n8n execute --id=<id> --rawOutput`; returns the parsed run data (`{ data: { resultData:
 * { runData, lastNodeExecuted, error? } }, ... }`). Throws when n8n fails or the run has an error
 * (pass { allowError: true } to get the output anyway).
 */
function executeWorkflow(env, id, opts = {}) {
  const r = runN8n(env, ['execute', `--id=${id}`, '--rawOutput'], opts);
  executeWorkflow.lastMs = r.ms;
  return interpretExecute(r, id, opts);
}

function interpretExecute(r, id, opts) {
  let parsed;
  try {
    parsed = parseJsonOutput(r.stdout);
  } catch (e) {
    if (r.code !== 0 || r.timedOut) check(r, `n8n execute --id=${id}`);
    throw new Error(`cannot parse n8n execute output: ${e.message}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`);
  }
  if (!opts.allowError) {
    const err = parsed && parsed.data && parsed.data.resultData && parsed.data.resultData.error;
    if (err || r.code !== 0) {
      const e = new Error(`workflow ${id} failed: ${err ? err.message || JSON.stringify(err) : `exit ${r.code}`}\n${tail(r.stderr)}`);
      e.output = parsed;
      e.result = r;
      throw e;
    }
  }
  Object.defineProperty(parsed, '_n8n', { value: r, enumerable: false });
  return parsed;
}

/** Like executeWorkflow, but asynchronous, so several instances (distinct envs) can run at once. */
async function executeWorkflowAsync(env, id, opts = {}) {
  const r = await runN8nAsync(env, ['execute', `--id=${id}`, '--rawOutput'], opts);
  return interpretExecute(r, id, opts);
}

/**
 * Parses --rawOutput stdout: n8n prints `JSON.stringify(run, null, 2)`, so the document starts at a
 * line that is exactly `{` and ends at the next line that is exactly `}`; log lines around it are
 * ignored. (On a failed run n8n prints the run data through its logger at level info instead.)
 */
function parseJsonOutput(stdout) {
  const s = String(stdout).trim();
  try {
    return JSON.parse(s);
  } catch {
    /* fall through */
  }
  const lines = s.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '{' && lines[i] !== '[') continue;
    const close = lines[i] === '{' ? '}' : ']';
    for (let j = i + 1; j < lines.length; j++) {
      if (lines[j] !== close) continue;
      try {
        return JSON.parse(lines.slice(i, j + 1).join('\n'));
      } catch {
        break;
      }
    }
  }
  throw new Error('no JSON document in output');
}

/** Items (`json` only) that node `nodeName` produced on `output` (default 0) in its last run. */
function nodeItems(run, nodeName, output = 0) {
  const runs = run.data.resultData.runData[nodeName];
  if (!runs) throw new Error(`node "${nodeName}" did not run; ran: ${Object.keys(run.data.resultData.runData).join(', ')}`);
  const last = runs[runs.length - 1];
  if (last.error) throw new Error(`node "${nodeName}" failed: ${last.error.message}`);
  const main = (last.data && last.data.main) || [];
  return (main[output] || []).map((i) => i.json);
}

/** Items of the node that ran last. */
function lastNodeItems(run) {
  return nodeItems(run, run.data.resultData.lastNodeExecuted);
}

function randomId() {
  // n8n ids are 16 alphanumeric characters.
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.randomBytes(16);
  let s = '';
  for (const b of bytes) s += abc[b % abc.length];
  return s;
}

module.exports = {
  n8nPaths,
  isInstalled,
  freePort,
  distinctFreePorts,
  killGroup,
  createEnv,
  runN8n,
  runN8nAsync,
  startN8n,
  stopN8n,
  installPackage,
  packPackage,
  installFromSource,
  importWorkflow,
  importCredentials,
  executeWorkflow,
  executeWorkflowAsync,
  parseJsonOutput,
  nodeItems,
  lastNodeItems,
  randomId,
};
