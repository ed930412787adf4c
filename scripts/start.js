#!/usr/bin/env node
'use strict';
/**
 * `npm start`: a local n8n (2.41.1, Node 24) on 127.0.0.1 with this package installed the way the
 * Community Nodes panel installs it, the example workflows imported and an Embedded `LTST Memory`
 * credential ready. Runs until Ctrl+C / SIGTERM. (`npm start` builds the package first.)
 *
 *   LTST_N8N_USER_FOLDER   n8n user folder, kept between runs (default <repo>/.n8n-local)
 *   LTST_N8N_PORT          editor and REST port (default 5678)
 *   LTST_N8N_BROKER_PORT   n8n's task runner broker port (default: any free port; 5679 may be taken)
 */
const fs = require('fs');
const path = require('path');
const net = require('net');
const http = require('http');
const { spawn, spawnSync } = require('child_process');

const ROOT = path.join(__dirname, '..');
const h = require('./n8n-harness.js');

// The example workflows reference this credential by id.
const CREDENTIAL = { id: 'ltstMemoryCred01', name: 'LTST Memory', type: 'ltstMemoryPostgresApi' };
const STOP_GRACE_MS = 20000; // n8n finishes running executions on SIGTERM; then the group is killed

const log = (msg) => process.stdout.write(`[ltst start] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`[ltst start] ERROR: ${msg}\n`);
  process.exit(1);
};

function portNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name}=${raw} is not a port number`);
  return n;
}

/** Resolves when nothing listens on 127.0.0.1:port; fails with the env var that changes it. */
function assertPortFree(port, envVar) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (e) =>
      fail(
        e.code === 'EADDRINUSE'
          ? `port ${port} is already in use (another n8n?). Choose another port with ${envVar}, e.g. ${envVar}=${port + 2} npm start`
          : `cannot use port ${port} (${e.code || e.message}); choose another with ${envVar}`,
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(resolve));
  });
}

function ready(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(2000, () => req.destroy());
  });
}

/**
 * Installs the schema in the credential's embedded folder with the package's CLI (a new database
 * takes a few seconds to create). A failure is only reported: the first execution tries again and
 * shows the error where the user looks.
 */
function prepareEmbeddedDatabase(dataDir) {
  const started = Date.now();
  const cli = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli', 'ltst-memory.js'), 'migrate', '--embedded', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  cli.stderr.on('data', (d) => (errors += d));
  cli.on('error', (e) => (errors += e.message));
  process.on('exit', () => cli.exitCode === null && cli.kill());
  return new Promise((resolve) => {
    cli.on('close', (code) => {
      if (code === 0) log(`embedded database ready in ${dataDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      else log(`could not prepare the embedded database (the first execution will): ${errors.trim().split('\n').pop()}`);
      resolve();
    });
  });
}

async function main() {
  const userFolder = path.resolve(process.env.LTST_N8N_USER_FOLDER || path.join(ROOT, '.n8n-local'));
  const port = portNumber('LTST_N8N_PORT', 5678);
  const brokerPort = portNumber('LTST_N8N_BROKER_PORT', undefined);
  if (brokerPort === port) fail('LTST_N8N_BROKER_PORT must differ from LTST_N8N_PORT');
  // Checked first, so a busy port fails in a second rather than after the imports.
  await assertPortFree(port, 'LTST_N8N_PORT');
  if (brokerPort) await assertPortFree(brokerPort, 'LTST_N8N_BROKER_PORT');

  if (!h.isInstalled()) {
    log('installing n8n 2.41.1 under Node 24 (once, takes a few minutes)');
    const r = spawnSync(process.execPath, [path.join(__dirname, 'n8n-install.js')], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) fail('installing n8n failed (see the [n8n-install] lines above)');
  }

  const env = await h.createEnv({
    userFolder,
    port,
    brokerPort: brokerPort || (await h.distinctFreePorts(2)).find((p) => p !== port),
    vars: {
      NODE_ENV: 'production',
      N8N_LISTEN_ADDRESS: '127.0.0.1',
      N8N_HOST: '127.0.0.1',
      N8N_PROTOCOL: 'http',
      // Loopback-only over plain http: a Secure cookie adds nothing and Safari refuses it there.
      N8N_SECURE_COOKIE: 'false',
      // No calls home beyond what createEnv already turns off (diagnostics, version notes, templates).
      N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
      N8N_DYNAMIC_BANNERS_ENABLED: 'false',
      N8N_HIRING_BANNER_ENABLED: 'false',
      N8N_DISABLED_MODULES: 'mcp-registry', // fetches api.n8n.io at start; offline it logs a stack trace
    },
  });
  // n8n keeps its own key in <userFolder>/.n8n/config (created by the first command), so saved
  // credentials stay readable across runs; a fresh random key would lock them out.
  delete env.vars.N8N_ENCRYPTION_KEY;
  log(`n8n user folder: ${userFolder}`);

  // Reinstall the freshly built package every time (as an update from the panel would).
  const pkg = h.installFromSource(env, ROOT);
  log(`installed ${pkg.name}@${pkg.version} into ${path.join(env.n8nFolder, 'nodes')}`);

  // Imports upsert by id: re-running refreshes the examples and the credential without duplicating
  // them, and leaves every other workflow and credential alone.
  const wfDir = path.join(ROOT, 'examples', 'workflows');
  const workflows = fs
    .readdirSync(wfDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(wfDir, f), 'utf8')));
  const dataDir = path.join(userFolder, 'ltst-memory');
  const credFile = path.join(userFolder, '.ltst-start-credential.json');
  fs.writeFileSync(credFile, JSON.stringify([{ ...CREDENTIAL, data: { connection: 'embedded', dataDir } }]));
  const wfFile = path.join(userFolder, '.ltst-start-workflows.json');
  fs.writeFileSync(wfFile, JSON.stringify(workflows));
  try {
    h.importCredentials(env, credFile);
    h.importWorkflow(env, wfFile);
  } finally {
    fs.rmSync(credFile, { force: true });
    fs.rmSync(wfFile, { force: true });
  }
  log(`imported ${workflows.length} example workflows and the "${CREDENTIAL.name}" credential (embedded database in ${dataDir})`);

  // Created and migrated while n8n starts, so the first execution only opens it.
  const database = prepareEmbeddedDatabase(dataDir);

  const url = `http://127.0.0.1:${port}`;
  log(`starting n8n on ${url} ...`);
  const p = h.n8nPaths();
  // Its own process group, so stopping takes the task runner with it; stdin ignored so n8n does
  // not put the terminal in raw mode.
  const child = spawn(p.node, [p.n8nBin, 'start'], { cwd: userFolder, env: env.vars, detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
  const running = () => child.exitCode === null && child.signalCode === null;
  process.on('exit', () => running() && h.killGroup(child.pid));

  let stopping = false;
  const stop = () => {
    if (stopping) return; // the harness re-raises the signal once; one stop is enough
    stopping = true;
    log('stopping n8n ...');
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    setTimeout(() => h.killGroup(child.pid), STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  child.on('exit', (code, signal) => {
    h.killGroup(child.pid); // whatever n8n left in its group (task runner)
    if (stopping) {
      log('n8n stopped');
      process.exit(0);
    }
    log(`n8n exited on its own (${signal || `code ${code}`})`);
    process.exit(code === null ? 1 : code);
  });

  // /healthz/readiness turns 200 once the database is migrated and every route is registered.
  while (running() && !stopping) {
    if (await ready(`${url}/healthz/readiness`)) {
      await database;
      log(`n8n with LTST Memory is ready at ${url}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().catch((e) => fail(e.message));
