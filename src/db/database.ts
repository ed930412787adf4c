/** The driver seam: everything above it speaks SQL with bind parameters and nothing else. */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

/** How to send one statement. */
export interface QueryOptions {
  /**
   * Keep its parse and plan on the connection (a named prepared statement, on PostgreSQL): for the
   * statements of few shapes that every chat turn sends, where parsing and planning were a third of
   * a retrieval. Ignored where the driver cannot keep them.
   */
  prepare?: boolean;
}

export interface Queryable {
  /** One statement; every value goes in `values` as a bind parameter. */
  query<Row = Record<string, unknown>>(text: string, values?: unknown[], options?: QueryOptions): Promise<QueryResult<Row>>;
  /** A script of several statements without parameters (migrations only). */
  exec(script: string): Promise<void>;
}

export type DriverKind = 'postgres' | 'pglite';

export interface Database extends Queryable {
  readonly kind: DriverKind;
  /**
   * Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it
   * throws. `settings` hold for this transaction only (SET LOCAL), sent with BEGIN in one round trip.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>, settings?: TransactionSettings): Promise<T>;
  close(): Promise<void>;
}

/** Adds a value to a statement's values and returns its placeholder ($1, $2, …). */
export type Bind = (value: unknown) => string;

/** A Bind that appends to `values`. */
export const binder = (values: unknown[]): Bind => (value) => `$${values.push(value)}`;

/** Settings of one transaction: a setting's name and value, both chosen by the core, never by input. */
export type TransactionSettings = Readonly<Record<string, string | number>>;

/** A SET LOCAL statement per setting; the name is checked and the value quoted. */
export function setLocalStatements(settings: TransactionSettings = {}): string[] {
  return Object.entries(settings).map(([name, value]) => {
    if (!/^[a-z_]+(\.[a-z_]+)?$/.test(name)) throw new Error(`Not a setting name: ${name}`);
    return `SET LOCAL ${name} = '${String(value).replace(/'/g, "''")}'`;
  });
}
