import { redactSecrets } from './redact';

/** Stable error codes callers (the n8n nodes, the CLI, scripts) branch on; never on message text. */
export type LtstErrorCode =
  | 'INVALID_CONFIG'
  | 'CONNECTION_FAILED'
  | 'PERMISSION_DENIED'
  | 'SERVER_TOO_OLD'
  | 'SCHEMA_TOO_NEW'
  | 'MIGRATION_CHECKSUM_MISMATCH'
  | 'DIMENSION_MISMATCH'
  | 'QUERY_FAILED'
  /** Bad input: `field` names the parameter, `hint` the fix. Nothing was written. */
  | 'INVALID_INPUT'
  /** The row belongs to another user (isolation). */
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  /** The database failed in a way that may pass on a retry (connection lost, serialization, deadlock, timeout). */
  | 'RETRYABLE'
  /** An idempotency key already stored with different content: the caller reused a key. */
  | 'IDEMPOTENCY_CONFLICT'
  /** A claimed event's lease expired or is held by another claim: its claim token is stale. */
  | 'STALE_CLAIM'
  /** The embedded database folder is open in another process. */
  | 'FOLDER_IN_USE';

export class LtstError extends Error {
  readonly code: LtstErrorCode;
  /** What the user can do about it, in one sentence. */
  readonly hint?: string;
  /** The PostgreSQL SQLSTATE or Node system error code behind this error, when there is one. */
  readonly sqlState?: string;
  /** The input field at fault, for INVALID_INPUT. */
  readonly field?: string;
  /** The place in a batch of the input at fault (messages[3] is 3), when a batch call refused one input. */
  readonly itemIndex?: number;

  /** Message and hint have their secrets masked (see redactSecrets): an error may be stored, exported or shown. */
  constructor(code: LtstErrorCode, message: string, options: LtstErrorOptions = {}) {
    super(redactSecrets(message), { cause: options.cause });
    this.name = 'LtstError';
    this.code = code;
    this.hint = options.hint === undefined ? undefined : redactSecrets(options.hint);
    this.sqlState = options.sqlState;
    this.field = options.field;
    this.itemIndex = options.itemIndex;
  }

  /** True when the same call may succeed if made again (with the same idempotency key). */
  get retryable(): boolean {
    return this.code === 'RETRYABLE' || this.code === 'CONNECTION_FAILED';
  }
}

export interface LtstErrorOptions {
  hint?: string;
  sqlState?: string;
  field?: string;
  itemIndex?: number;
  cause?: unknown;
}

/** The SQLSTATE (or Node system error code) of a driver error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A bad input value: names the field and says how to fix it. */
export function invalidInput(field: string, problem: string, hint: string): LtstError {
  return new LtstError('INVALID_INPUT', `${field} ${problem}`, { field, hint });
}
