import pg from 'pg';

/** A statement as node-postgres was asked to send it: its text (whitespace folded), name when prepared, and whether it had values. */
export interface SentStatement {
  text: string;
  name?: string;
  hasValues: boolean;
}

/** Every statement the store sends to a server during `work`, but the scope a connection is given (once per scope). */
export async function statementsSentDuring(work: () => Promise<unknown>): Promise<SentStatement[]> {
  const sent: SentStatement[] = [];
  const real = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const [first, values] = args as [string | { name?: string; text: string; values?: unknown[] }, unknown[] | undefined];
    const statement = typeof first === 'string' ? { text: first, hasValues: values !== undefined } : { text: first.text, name: first.name, hasValues: first.values !== undefined };
    sent.push({ ...statement, text: statement.text.replace(/\s+/g, ' ') });
    return (real as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof real;
  try {
    await work();
  } finally {
    pg.Client.prototype.query = real;
  }
  return sent.filter((statement) => !statement.text.includes("set_config('ltst.scope'"));
}
