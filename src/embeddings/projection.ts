/**
 * A fixed, seeded random orthogonal projection from `from` to `to` dimensions, used to fit a
 * model's native vectors into a store whose vector column has fewer dimensions.
 *
 * Why it keeps cosine similarity (roughly): by the Johnson–Lindenstrauss lemma, a random linear
 * map onto k dimensions preserves every pairwise distance and inner product among n points up
 * to a factor 1 ± ε with ε on the order of sqrt(log n / k), whatever the points are. A random
 * projection with orthonormal rows scales every vector's length by about sqrt(to/from) and
 * inner products by the same factor, so after re-normalising, cosines come out nearly unchanged.
 * Here the map keeps a random `to`-dimensional subspace of a `from`-dimensional space, so when
 * `to` is close to `from` (384 of 512) the distortion is smaller still.
 *
 * What it costs: the discarded directions are information lost for good (recall drops a little,
 * more the smaller `to` is); cosines move by a few hundredths; the projected vectors are not the
 * model's own and mean nothing outside this package. The matrix is part of the vector space: the
 * seed and this algorithm must never change, or stored vectors stop matching new ones. It is
 * computed once per (from, to) and process, in a fraction of a second.
 *
 * Reproducibility: entries are uniform in [-1, 1) from a 32-bit PRNG and orthonormalised with
 * Gram–Schmidt using only +, -, *, / and sqrt, which IEEE 754 rounds exactly, so the matrix is
 * bit-identical on every platform and Node version (no Math.log / Math.cos as Gaussian sampling
 * would need). Uniform entries are sub-Gaussian, which is all the lemma needs.
 */

/** The seed of every projection this package makes. Never change it (see above). */
export const PROJECTION_SEED = 0x17_57_2e_5d;

/** mulberry32: a tiny, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `rows` orthonormal rows of length `columns` (rows <= columns), row-major. */
export function orthonormalRows(rows: number, columns: number, seed: number = PROJECTION_SEED): Float64Array[] {
  if (rows > columns) throw new RangeError(`cannot make ${rows} orthonormal rows of length ${columns}`);
  const random = seededRandom(seed);
  const basis: Float64Array[] = [];
  while (basis.length < rows) {
    const v = new Float64Array(columns);
    for (let j = 0; j < columns; j++) v[j] = 2 * random() - 1;
    // Modified Gram–Schmidt, twice ("twice is enough") for orthogonality to machine precision.
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let dot = 0;
        for (let j = 0; j < columns; j++) dot += v[j] * b[j];
        for (let j = 0; j < columns; j++) v[j] -= dot * b[j];
      }
    }
    let norm = 0;
    for (let j = 0; j < columns; j++) norm += v[j] * v[j];
    norm = Math.sqrt(norm);
    // A draw (almost) inside the span so far carries no new direction: draw again.
    if (norm < 1e-6) continue;
    for (let j = 0; j < columns; j++) v[j] /= norm;
    basis.push(v);
  }
  return basis;
}

const cache = new Map<string, Float64Array[]>();

/** The package's projection matrix from `from` to `to` dimensions, made once per process. */
export function projectionMatrix(from: number, to: number): Float64Array[] {
  const key = `${from}>${to}`;
  let matrix = cache.get(key);
  if (!matrix) {
    matrix = orthonormalRows(to, from);
    cache.set(key, matrix);
  }
  return matrix;
}

/** `vector` scaled to unit length (a zero vector stays zero). */
export function normalise(vector: ArrayLike<number>): number[] {
  let norm = 0;
  for (let j = 0; j < vector.length; j++) norm += vector[j] * vector[j];
  norm = Math.sqrt(norm);
  const out = new Array<number>(vector.length);
  for (let j = 0; j < vector.length; j++) out[j] = norm > 0 ? vector[j] / norm : 0;
  return out;
}

/** P x for a projection matrix P (rows) and a vector x. */
export function project(matrix: Float64Array[], vector: ArrayLike<number>): Float64Array {
  const out = new Float64Array(matrix.length);
  for (let i = 0; i < matrix.length; i++) {
    const row = matrix[i];
    let sum = 0;
    for (let j = 0; j < row.length; j++) sum += row[j] * vector[j];
    out[i] = sum;
  }
  return out;
}
