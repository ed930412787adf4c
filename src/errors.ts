/** Stable error codes callers (the n8n nodes, the CLI, scripts) branch on; never on message text. */
export type LtstErrorCode =
  | 'INVALID_CONFIG'
  | 'CONNECTION_FAILED'
  | 'PERMISSION_DENIED'
  | 'SERVER_TOO_OLD'
  | 'SCHEMA_TOO_NEW'
  | 'MIGRATION_CHECKSUM_MISMATCH'
  | 'DIMENSION_MISMATCH'
  | 'QUERY_FAILED';

export class LtstError extends Error {
  readonly code: LtstErrorCode;
  /** What the user can do about it, in one sentence. */
  readonly hint?: string;
  /** The PostgreSQL SQLSTATE or Node system error code behind this error, when there is one. */
  readonly sqlState?: string;

  constructor(code: LtstErrorCode, message: string, options: { hint?: string; sqlState?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'LtstError';
    this.code = code;
    this.hint = options.hint;
    this.sqlState = options.sqlState;
  }
}

/** The SQLSTATE (or Node system error code) of a driver error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
