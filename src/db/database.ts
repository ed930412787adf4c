/** The driver seam: everything above it speaks SQL with bind parameters and nothing else. */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface Queryable {
  /** One statement; every value goes in `values` as a bind parameter. */
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<Row>>;
  /** A script of several statements without parameters (migrations only). */
  exec(script: string): Promise<void>;
}

export type DriverKind = 'postgres' | 'pglite';

export interface Database extends Queryable {
  readonly kind: DriverKind;
  /** Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
