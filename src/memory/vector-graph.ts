import { withScope } from '../db/scope';
import { LtstError } from '../errors';
import { BufferedWriter } from './buffered-writer';
import { instrument, type MemoryContext } from './context';
import { requireId } from './validation';

/** Users past this many messages search through the HNSW graph (MemoryOptions.vectorGraphMinMessages). */
export const DEFAULT_VECTOR_GRAPH_MIN_MESSAGES = 20_000;

/** Rows flagged per statement before the user is: short statements, no long lock on the user. */
const FLAG_CHUNK = 5_000;

export interface VectorGraphReport {
  /** Users admitted to the graph by this call. */
  users: number;
  /** Their messages added to the graph. */
  messages: number;
}

/**
 * Puts one user's messages into the HNSW graph (migrations 0012 and 0013), then marks the user, whose
 * searches go through the graph from then on; until then they stay exact, so a user half admitted
 * finds the same. The rows are flagged in chunks first; the last step locks the user's state row,
 * as every insert's trigger does, so a message stored meanwhile is flagged either here or by its trigger.
 * Returns the messages flagged, or undefined when another call admitted the user meanwhile.
 */
async function admitUser(ctx: MemoryContext, userId: string): Promise<number | undefined> {
  // Rows are locked in id order, as the relevance writer locks them: the two never deadlock.
  const flagRows = (limit: string) =>
    `WITH chunk AS MATERIALIZED (
       SELECT message_id FROM ${ctx.schema}.conversation_messages WHERE user_id = $1 AND NOT in_vector_graph ORDER BY message_id ${limit} FOR UPDATE
     )
     UPDATE ${ctx.schema}.conversation_messages m SET in_vector_graph = true FROM chunk WHERE m.message_id = chunk.message_id`;
  let flagged = 0;
  for (;;) {
    const { rowCount } = await ctx.run((db) => db.query(flagRows(`LIMIT ${FLAG_CHUNK}`), [userId]));
    flagged += rowCount;
    if (rowCount < FLAG_CHUNK) break;
  }
  return ctx.transaction(async (tx) => {
    const { rows } = await tx.query(`SELECT 1 FROM ${ctx.schema}.ltst_user_state WHERE user_id = $1 AND NOT in_vector_graph FOR UPDATE`, [userId]);
    if (rows.length === 0) return undefined; // admitted meanwhile, by another call
    await tx.query(`UPDATE ${ctx.schema}.ltst_user_state SET in_vector_graph = true WHERE user_id = $1`, [userId]);
    return flagged + (await tx.query(flagRows(''), [userId])).rowCount;
  });
}

/**
 * Admits every user past the threshold not yet in the graph (of `userId` alone when given), each in
 * their own scope. Run by importMessages after a load and, for one user, in the background by a
 * retrieval that finds its user past the threshold.
 */
export async function joinVectorGraph(ctx: MemoryContext, userId?: string): Promise<VectorGraphReport> {
  const { rows } = await ctx.run((db) =>
    db.query<{ user_id: string }>(
      `SELECT user_id FROM ${ctx.schema}.ltst_user_state WHERE NOT in_vector_graph AND message_count > $1 ${userId === undefined ? '' : 'AND user_id = $2'} ORDER BY user_id`,
      userId === undefined ? [ctx.options.vectorGraphMinMessages] : [ctx.options.vectorGraphMinMessages, userId],
    ),
  );
  const report: VectorGraphReport = { users: 0, messages: 0 };
  for (const { user_id } of rows) {
    const flagged = await withScope({ users: [user_id] }, () => admitUser(ctx, user_id));
    if (flagged === undefined) continue;
    report.messages += flagged;
    report.users += 1;
  }
  return report;
}

/**
 * Admissions asked for by retrievals, run one after another off the request path (a user's first
 * admission inserts every one of their vectors into the graph: seconds). Each user is asked for once
 * per process; store.flush() and close() wait for them.
 */
export class VectorGraphAdmissions {
  private readonly asked = new Set<string>();
  private readonly writer: BufferedWriter<string>;

  constructor(admit: (userId: string) => Promise<unknown>, onWarning: (message: string) => void) {
    this.writer = new BufferedWriter(async (userIds) => {
      for (const userId of userIds) {
        try {
          await admit(userId);
        } catch (error) {
          this.asked.delete(userId); // asked again by the user's next retrieval
          onWarning(`Could not add a user's messages to the vector graph: ${(error as Error).message}`);
        }
      }
    }, 1);
  }

  admit(userId: string): void {
    if (this.asked.has(userId)) return;
    this.asked.add(userId);
    this.writer.add(userId);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }
}

/** memory.vectorGraphMinMessages as configured: a whole number of messages. */
export function validVectorGraphMinMessages(value: unknown): number {
  if (value === undefined) return DEFAULT_VECTOR_GRAPH_MIN_MESSAGES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new LtstError('INVALID_CONFIG', `memory.vectorGraphMinMessages is ${JSON.stringify(value)}, not a whole number of messages`, {
      hint: `Leave it out for ${DEFAULT_VECTOR_GRAPH_MIN_MESSAGES.toLocaleString('en')}, or pass a whole number such as 50000.`,
    });
  }
  return value;
}

export interface JoinVectorGraphOptions {
  /** Only this user (default: every user past the threshold). */
  userId?: string;
}

export function vectorGraphOperations(ctx: MemoryContext) {
  return {
    /**
     * Admits the users past memory.vectorGraphMinMessages to the HNSW graph now (a retrieval would
     * in the background, and importMessages does after its load): after a load through storeMessages,
     * or to choose when the graph inserts run.
     */
    async joinVectorGraph(options?: JoinVectorGraphOptions): Promise<VectorGraphReport> {
      const wanted = options?.userId;
      const userId = wanted === undefined || wanted === null ? undefined : requireId('userId', wanted);
      return instrument(ctx, 'join_vector_graph', { userId, parameters: { userId: userId ?? null } }, () => joinVectorGraph(ctx, userId), (report) => report.users);
    },
  };
}
