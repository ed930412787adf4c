import { errorCode } from '../errors';

/**
 * What a database failure means for a retry, decided by SQLSTATE or Node system error code only
 * (never by message text): 'connection' when the connection or the server went away,
 * 'serialization' when PostgreSQL rolled the transaction back to resolve a conflict, or refused a
 * statement before running it that the driver now sends another way (PreparedStatementLostError).
 */
export type FaultKind = 'connection' | 'serialization';

/** SQLSTATE connection_failure: given to a lost connection the driver reported without any code. */
export const LOST_CONNECTION_SQLSTATE = '08006';

const SERIALIZATION_CODES = new Set(['40001', '40P01']);
/** Server going away (57P0x), too many connections (53300); class 08 is added below. */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Node socket errors: the connection broke, or nothing answered. */
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

const isConnectionCode = (code: string) => SERVER_CODES.has(code) || SOCKET_CODES.has(code) || code.startsWith('08');

/**
 * The fault an error is, or undefined for any other error (bad SQL, constraints, an LtstError of
 * the caller). `connectionLost` is whether the client emitted its own error event: node-postgres
 * reports a socket that closed mid-statement as a plain Error with no code, so that is how it shows.
 */
export function faultKind(error: unknown, connectionLost: boolean): FaultKind | undefined {
  if (error instanceof PreparedStatementLostError) return 'serialization';
  const code = errorCode(error);
  if (code === undefined) return connectionLost ? 'connection' : undefined;
  if (SERIALIZATION_CODES.has(code)) return 'serialization';
  return isConnectionCode(code) ? 'connection' : undefined;
}

/**
 * Whether a failed connect may pass if tried again soon. The server's own answers (starting up,
 * shutting down, too many connections) always; refused, reset or timed-out sockets only once this
 * pool has reached the server before, so a wrong host or port still fails at once.
 */
export function isTransientConnectFailure(error: unknown, reachedBefore: boolean): boolean {
  const code = errorCode(error);
  if (code === undefined) return false;
  if (SOCKET_CODES.has(code)) return reachedBefore;
  return isConnectionCode(code);
}

/** A statement refused before it was sent, because its client had already lost its connection. */
export class UnsentStatementError extends Error {
  readonly code = LOST_CONNECTION_SQLSTATE;

  constructor() {
    super('The connection was lost before the statement was sent');
    this.name = 'UnsentStatementError';
  }
}

/**
 * A named (prepared) statement the server did not have (26000) or already had (42P05): the session
 * is not the one that prepared it, as behind a pooler in transaction mode that does not keep them.
 * Nothing ran; the driver stops naming statements, and the work is tried again.
 */
export class PreparedStatementLostError extends Error {
  readonly code: string;

  constructor(cause: unknown) {
    super('A prepared statement was not kept by the connection (a pooler in transaction mode?)', { cause });
    this.name = 'PreparedStatementLostError';
    this.code = errorCode(cause) ?? '26000';
  }
}

/** SQLSTATEs of a lost or duplicated prepared statement. */
export const PREPARED_STATEMENT_CODES = new Set(['26000', '42P05']);

const REASONS: Record<string, string> = {
  '26000': 'a prepared statement the connection pooler did not keep',
  '42P05': 'a prepared statement another client of the connection pooler had prepared',
  '57P01': 'the server terminated the connection (a restart, a failover or an administrator)',
  '57P02': 'the server is recovering from a crash',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'the server has too many connections',
  '40001': 'a serialization failure (a concurrent transaction conflicted)',
  '40P01': 'a deadlock with a concurrent transaction',
  ECONNRESET: 'the connection was reset',
  ECONNREFUSED: 'the server refused the connection',
  EPIPE: 'the connection was broken',
  ETIMEDOUT: 'the connection timed out',
};

/** What happened, in words, with the code: for error messages (never the driver's text, which may quote SQL). */
export function faultReason(code: string | undefined): string {
  const known = code === undefined ? undefined : REASONS[code];
  if (known) return `${known}, ${code}`;
  if (code === undefined || code === LOST_CONNECTION_SQLSTATE) return `the connection closed unexpectedly, ${LOST_CONNECTION_SQLSTATE}`;
  return `connection failure, ${code}`;
}
