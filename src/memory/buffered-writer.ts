/** Writers holding unwritten rows, so closing everything can write them first. */
const pending = new Set<BufferedWriter<unknown>>();

/** Writes what every buffered writer of this process holds. */
export async function flushAllBuffers(): Promise<void> {
  await Promise.all([...pending].map((writer) => writer.flush()));
}

/**
 * Collects rows and writes them in one statement per batch (every `maxRows` rows or `intervalMs`),
 * so bookkeeping adds no round trip to the operation that produced it. Batches are written one
 * after another. Rows not yet written are lost if the process dies: use it only for measurements
 * and learning signals, never for memory itself.
 */
export class BufferedWriter<Row> {
  private buffer: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (rows: Row[]) => Promise<void>,
    private readonly maxRows: number,
    private readonly intervalMs = 1_000,
  ) {}

  add(...rows: Row[]): void {
    if (rows.length === 0) return;
    this.buffer.push(...rows);
    pending.add(this as BufferedWriter<unknown>);
    if (this.buffer.length >= this.maxRows) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes every buffered row now. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.buffer;
    this.buffer = [];
    pending.delete(this as BufferedWriter<unknown>);
    if (rows.length > 0) this.writing = this.writing.then(() => this.write(rows));
    return this.writing;
  }
}
