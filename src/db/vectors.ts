/**
 * pgvector values as bind parameters. As text, a 384-d vector costs about 180 µs to format in
 * JavaScript (one double-to-text conversion per number), then quoting and the server's parsing:
 * more than the rest of a stored message. node-postgres sends whatever `toPostgres()` returns, and a
 * Buffer goes in PostgreSQL's binary format, read by pgvector's own receive function. PGlite takes
 * text: its driver calls `toText()`.
 */

/** Binary `vector`: int16 dimensions, int16 unused, then each float4 big-endian. */
function writeVector(view: DataView, at: number, vector: Float32Array): number {
  view.setInt16(at, vector.length);
  view.setInt16(at + 2, 0);
  for (let i = 0; i < vector.length; i++) view.setFloat32(at + 4 + i * 4, vector[i]);
  return at + 4 + vector.length * 4;
}

const vectorText = (vector: Float32Array) => `[${vector.join(',')}]`;

/** One `vector` parameter (`$n::vector`). */
export class VectorParam {
  constructor(readonly vector: Float32Array) {}

  toPostgres(): Buffer {
    const buffer = Buffer.alloc(4 + this.vector.length * 4);
    writeVector(new DataView(buffer.buffer, buffer.byteOffset, buffer.length), 0, this.vector);
    return buffer;
  }

  toText(): string {
    return vectorText(this.vector);
  }
}

/**
 * One `vector[]` parameter (`$n::vector[]`, for unnest), null for a message without a vector. The
 * binary array names its element type, so it needs the installed `vector` type's oid.
 */
export class VectorListParam {
  constructor(
    readonly vectors: (Float32Array | null)[],
    readonly vectorOid: number,
  ) {}

  toPostgres(): Buffer {
    const bytes = this.vectors.reduce((sum, v) => sum + 4 + (v ? 4 + v.length * 4 : 0), 20);
    const buffer = Buffer.alloc(bytes);
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
    // Array header: one dimension, whether any element is null, the element type, length, lower bound 1.
    view.setInt32(0, 1);
    view.setInt32(4, this.vectors.some((v) => v === null) ? 1 : 0);
    view.setUint32(8, this.vectorOid);
    view.setInt32(12, this.vectors.length);
    view.setInt32(16, 1);
    let at = 20;
    for (const vector of this.vectors) {
      view.setInt32(at, vector ? 4 + vector.length * 4 : -1);
      at = vector ? writeVector(view, at + 4, vector) : at + 4;
    }
    return buffer;
  }

  toText(): string {
    return `{${this.vectors.map((v) => (v ? `"${vectorText(v)}"` : 'NULL')).join(',')}}`;
  }
}

/** For a driver that sends text only (PGlite): vector parameters as pgvector's text form. */
export const asTextValues = (values: unknown[] | undefined): unknown[] | undefined =>
  values?.map((value) => (value instanceof VectorParam || value instanceof VectorListParam ? value.toText() : value));
