import { LtstError, errorCode } from '../errors';
import { LOST_CONNECTION_SQLSTATE, faultReason, isTransientConnectFailure, type FaultKind } from './fault-classification';

/** Where a connection was going, for error messages; never includes the password. */
export interface ConnectionTarget {
  description: string;
}

/** Why a connection failed, by Node system error code or SQLSTATE, with what to do about it. */
const REASONS: Record<string, { reason: string; hint: string; code?: 'PERMISSION_DENIED' }> = {
  ECONNREFUSED: { reason: 'nothing is listening there', hint: 'Check the host and port, and that PostgreSQL is running and accepts TCP connections.' },
  ENOTFOUND: { reason: 'the host name does not resolve', hint: 'Check the host name.' },
  EAI_AGAIN: { reason: 'the host name could not be resolved', hint: 'Check the host name and DNS.' },
  ETIMEDOUT: { reason: 'the connection timed out', hint: 'Check the host, port and any firewall between n8n and PostgreSQL.' },
  ECONNRESET: { reason: 'the server closed the connection', hint: 'Check the SSL mode: the server may require or refuse SSL.' },
  '28P01': { reason: 'the password was rejected', hint: 'Check the user and password.' },
  '28000': { reason: 'the server refused this user (pg_hba.conf or unknown role)', hint: 'Check the user name and the server pg_hba.conf rules for this client.' },
  '3D000': { reason: 'the database does not exist', hint: 'Check the database name, or create it first (CREATE DATABASE).' },
  '42501': { reason: 'permission denied', hint: 'Grant this user CONNECT on the database and CREATE on the schema.', code: 'PERMISSION_DENIED' },
  '53300': { reason: 'the server has too many connections', hint: 'Lower the maximum connections of the credential or raise max_connections on the server.' },
  '57P03': { reason: 'the server is starting up or shutting down', hint: 'Try again in a moment.' },
};

export function connectionError(target: ConnectionTarget, error: unknown): LtstError {
  const code = errorCode(error);
  const known = code ? REASONS[code] : undefined;
  const reason = known?.reason ?? (error instanceof Error ? error.message : String(error));
  // Nothing was sent: a connection that may come back (a restart) is safe to retry.
  const retry = isTransientConnectFailure(error, true) ? ' Nothing was sent: it is safe to retry, with the same idempotency key.' : '';
  return new LtstError(known?.code ?? 'CONNECTION_FAILED', `Cannot connect to ${target.description}: ${reason}`, {
    hint: (known?.hint ?? 'Check the connection settings of the credential.') + retry,
    sqlState: code,
    cause: error,
  });
}

/** Where a connection fault struck, which decides whether anything may have been written. */
export type FaultPhase = 'statement' | 'transaction' | 'commit';

const SAFE_RETRY = 'It is safe to retry, with the same idempotency key; the connection pool reconnects as soon as the server is back.';

/**
 * The typed, retryable error for a database fault that was not (or could no longer be) retried.
 * The message says what happened and whether anything may have been written; it never quotes
 * the driver's text or the connection settings beyond host, port, database and user.
 */
export function faultError(target: ConnectionTarget, error: unknown, kind: FaultKind, phase: FaultPhase, attempts: number): LtstError {
  const code = errorCode(error) ?? LOST_CONNECTION_SQLSTATE;
  const reason = faultReason(errorCode(error));
  const tries = attempts > 1 ? ` (tried ${attempts} times)` : '';
  const options = { sqlState: code, cause: error, hint: SAFE_RETRY };
  if (kind === 'serialization') {
    return new LtstError('RETRYABLE', `${target.description} rolled the ${phase === 'statement' ? 'statement' : 'transaction'} back${tries}: ${reason}. Nothing was written.`, options);
  }
  const lost = `Lost the connection to ${target.description}`;
  if (phase === 'transaction') {
    return new LtstError('RETRYABLE', `${lost} during a transaction${tries}: ${reason}. The transaction was rolled back; nothing was written.`, options);
  }
  if (phase === 'commit') {
    return new LtstError('RETRYABLE', `${lost} while committing: ${reason}. The write may or may not have been stored.`, {
      ...options,
      hint: 'Retry with the same idempotency key: a message already stored is then returned as a duplicate, never stored twice.',
    });
  }
  return new LtstError('RETRYABLE', `${lost} during a statement: ${reason}. It may or may not have taken effect.`, {
    ...options,
    hint: 'It is safe to retry a read, and a write with the same idempotency key; the connection pool reconnects as soon as the server is back.',
  });
}
