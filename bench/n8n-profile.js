// Where n8n workers spent their CPU time, from V8 CPU profiles (node --cpu-prof): by package (a
// sample counts for the package of the function it was in), and this package's functions by
// inclusive time, leaving out what it does once per process. Used by bench/n8n-queue.js --profile.
const fs = require('node:fs');
const path = require('node:path');
const { round } = require('./common');

const OURS = /n8n-nodes-ltst-memory/;
// What this package does once per process, not per execution: loading its modules, warming the local model.
const ONCE = /(^|\.)(__require\w*|__esm|__commonJS|__init\w*|loadLocalModel|loadModel|loadWeights|decodeWeights|loadSync)$/;
/** The part of the worker a script belongs to, by its path. */
function partOf(url) {
  if (!url) return 'V8 and Node.js internals';
  if (url.startsWith('node:')) return 'Node.js';
  if (OURS.test(url)) return 'LTST Memory';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url);
  return pkg ? pkg[1] : 'other';
}

/** Self time of each profile node in ms, from its samples. */
function selfTimes(profile) {
  const ms = new Map();
  profile.samples.forEach((id, k) => ms.set(id, (ms.get(id) ?? 0) + (profile.timeDeltas[k] ?? 0) / 1000));
  return ms;
}

function summariseProfiles(dir, top = 15) {
  const parts = new Map();
  const functions = new Map();
  let busyMs = 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const self = selfTimes(profile);
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parent = new Map();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    for (const [id, ms] of self) {
      const node = byId.get(id);
      const name = node.callFrame.functionName;
      if (name === '(idle)' || name === '(program)') continue;
      busyMs += ms;
      const stack = [];
      for (let at = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at).callFrame);
      const once = stack.some((frame) => OURS.test(frame.url) && ONCE.test(frame.functionName));
      let part = name === '(garbage collector)' ? 'garbage collector' : partOf(node.callFrame.url);
      if (part === 'LTST Memory' && once) part = 'LTST Memory, once per process (modules, model warm-up)';
      parts.set(part, (parts.get(part) ?? 0) + ms);
      if (once) continue;
      // Inclusive time of this package's functions: the sample counts for every function on its stack.
      const seen = new Set();
      for (const frame of stack) {
        if (!OURS.test(frame.url)) continue;
        const key = `${frame.functionName || '(anonymous)'} ${path.basename(frame.url)}:${frame.lineNumber + 1}`;
        if (seen.has(key)) continue; // recursion: once per sample
        seen.add(key);
        functions.set(key, (functions.get(key) ?? 0) + ms);
      }
    }
  }
  const share = (ms) => ({ ms: round(ms, 0), share: round(ms / busyMs, 3) });
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    busyMs: round(busyMs, 0),
    byPart: Object.fromEntries(sorted(parts).slice(0, top).map(([part, ms]) => [part, share(ms)])),
    ltstFunctionsInclusive: Object.fromEntries(sorted(functions).slice(0, top).map(([key, ms]) => [key, share(ms)])),
  };
}

module.exports = { summariseProfiles };
