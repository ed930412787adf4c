import type { Database } from '../db/database';
import { BufferedWriter } from '../memory/buffered-writer';

/** How much one retrieval with score s raises a message's relevance r: r' = 1 - (1 - r)(1 - RATE * s). */
export const REINFORCEMENT_RATE = 0.1;
/** A session's relevance moves this far towards the mean relevance of its retrieved messages. */
export const SESSION_FOLLOW_RATE = 0.1;

/**
 * Retrieved messages gain relevance, and their sessions follow; written in batches (200 or per
 * second) off the request path. Updating a message row writes a new version into every index of
 * conversation_messages, HNSW included (about 1 ms per row at 100k messages), which a retrieval
 * should not wait for.
 */
export class RelevanceRecorder {
  private readonly writer: BufferedWriter<{ messageId: number; score: number }>;

  constructor(
    private readonly schema: string,
    private readonly run: <T>(work: (db: Database) => Promise<T>) => Promise<T>,
    private readonly onError: (message: string) => void,
  ) {
    this.writer = new BufferedWriter((rows) => this.write(rows), 200);
  }

  record(found: Array<{ messageId: number; score: number }>): void {
    this.writer.add(...found);
  }

  /** Writes every buffered reinforcement now. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  private async write(rows: Array<{ messageId: number; score: number }>): Promise<void> {
    try {
      await this.run((db) =>
        db.query(
          `WITH found AS (
             -- A message retrieved several times in one batch is reinforced once per retrieval.
             SELECT id, exp(sum(ln(1 - $3::float8 * least(1, greatest(0, score))))) AS keep
               FROM unnest($1::bigint[], $2::float8[]) AS x(id, score) GROUP BY id
           ), locked AS MATERIALIZED (
             -- In id order (an UPDATE's join locks in whatever order its plan reads): two writers
             -- locking the same messages, this one and a vector-graph admission, never deadlock.
             SELECT m.message_id FROM ${this.schema}.conversation_messages m WHERE m.message_id IN (SELECT id FROM found) ORDER BY m.message_id FOR UPDATE
           ), changed AS (
             UPDATE ${this.schema}.conversation_messages m SET relevance_score = 1 - (1 - m.relevance_score) * f.keep
               FROM found f JOIN locked l ON l.message_id = f.id WHERE m.message_id = f.id
             RETURNING m.session_id, m.relevance_score)
           UPDATE ${this.schema}.conversation_sessions s
              SET relevance_score = least(1, (1 - $4::float8) * s.relevance_score + $4::float8 * c.relevance)
             FROM (SELECT session_id, avg(relevance_score) AS relevance FROM changed GROUP BY session_id) c
            WHERE s.session_id = c.session_id`,
          [rows.map((r) => r.messageId), rows.map((r) => r.score), REINFORCEMENT_RATE, SESSION_FOLLOW_RATE],
        ),
      );
    } catch (error) {
      this.onError(`Could not record the relevance of ${rows.length} retrieved messages: ${(error as Error).message}`);
    }
  }
}
