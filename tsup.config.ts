import fs from 'node:fs';
import { defineConfig } from 'tsup';

/**
 * PGlite's Emscripten loader declares `var require = createRequire(...)` after `await
 * import("node:module")`; bundled as CommonJS, that import becomes a call to the hoisted, still
 * undefined local `require`. Load node:module without `require` instead.
 */
const EMSCRIPTEN_REQUIRE = 'let{createRequire:e}=await import("node:module");var require=e(import.meta.url)';
const pgliteRequireFix = {
  name: 'pglite-require-fix',
  setup(build: { onLoad: (options: { filter: RegExp }, callback: (args: { path: string }) => { contents: string; loader: 'js' }) => void }) {
    build.onLoad({ filter: /@electric-sql[\\/]pglite[\\/]dist[\\/].*\.js$/ }, (args) => ({
      contents: fs
        .readFileSync(args.path, 'utf8')
        .replaceAll(EMSCRIPTEN_REQUIRE, 'var require=process.getBuiltinModule("node:module").createRequire(import.meta.url)'),
      loader: 'js',
    }));
  },
};

// One CommonJS build with no runtime dependencies: pg, PGlite and the rest are bundled, and the
// entries share one copy of the core through a common chunk.
export default defineConfig({
  entry: {
    'core/index': 'src/index.ts',
    'cli/ltst-memory': 'src/cli/ltst-memory.ts',
    'nodes/LtstStoreMessage/LtstStoreMessage.node': 'nodes/LtstStoreMessage/LtstStoreMessage.node.ts',
    'nodes/LtstRetrieveContext/LtstRetrieveContext.node': 'nodes/LtstRetrieveContext/LtstRetrieveContext.node.ts',
    'nodes/LtstUpsertPreference/LtstUpsertPreference.node': 'nodes/LtstUpsertPreference/LtstUpsertPreference.node.ts',
    'nodes/LtstLogEvent/LtstLogEvent.node': 'nodes/LtstLogEvent/LtstLogEvent.node.ts',
    'nodes/LtstMemoryMaintenance/LtstMemoryMaintenance.node': 'nodes/LtstMemoryMaintenance/LtstMemoryMaintenance.node.ts',
    'credentials/LtstMemoryPostgresApi.credentials': 'credentials/LtstMemoryPostgresApi.credentials.ts',
    'credentials/LtstEmbeddingsApi.credentials': 'credentials/LtstEmbeddingsApi.credentials.ts',
  },
  outDir: 'dist',
  format: ['cjs'],
  target: 'node20',
  platform: 'node',
  splitting: true,
  shims: true,
  clean: true,
  sourcemap: false,
  dts: { entry: { 'core/index': 'src/index.ts' } },
  noExternal: [/.*/],
  // Optional drivers that pg only loads when asked for; never used here.
  // n8n-workflow is n8n's own (a peer dependency), never bundled.
  external: ['n8n-workflow', 'pg-native', 'pg-cloudflare', 'cloudflare:sockets'],
  esbuildPlugins: [pgliteRequireFix],
});
