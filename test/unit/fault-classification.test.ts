import { connectionError, faultError } from '../../src/db/connection-errors';
import { UnsentStatementError, faultKind, isTransientConnectFailure } from '../../src/db/fault-classification';
import { LtstError } from '../../src/errors';

/** A driver error as node-postgres or Node raises it: a message and (maybe) a code. */
const driverError = (code?: string, message = 'driver text with SELECT secret FROM t') => Object.assign(new Error(message), code ? { code } : {});
const target = { description: 'PostgreSQL at db.example:5432 (database "memory", user "n8n")' };

describe('database fault classification (by SQLSTATE or Node error code, never by message)', () => {
  it.each(['57P01', '57P02', '57P03', '53300', '08006', '08001', '08P01', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'])('%s is a lost connection', (code) => {
    expect(faultKind(driverError(code), false)).toBe('connection');
  });

  it('40001 and 40P01 are serialization faults: the server rolled the transaction back', () => {
    expect(faultKind(driverError('40001'), false)).toBe('serialization');
    expect(faultKind(driverError('40P01'), true)).toBe('serialization');
  });

  it('an error without a code is a lost connection only when the client itself reported losing it', () => {
    const terminated = driverError(undefined, 'Connection terminated unexpectedly');
    expect(faultKind(terminated, true)).toBe('connection');
    expect(faultKind(terminated, false)).toBeUndefined();
    expect(faultKind(new UnsentStatementError(), false)).toBe('connection');
  });

  it('other errors are no fault: constraint violations, bad SQL, and the store\'s own LtstErrors even on a lost client', () => {
    expect(faultKind(driverError('23505'), false)).toBeUndefined();
    expect(faultKind(driverError('42601'), true)).toBeUndefined();
    expect(faultKind(new LtstError('FORBIDDEN', 'not yours'), true)).toBeUndefined();
  });

  it('a connect is retried for the server\'s transient answers; a refused socket only once the pool had reached the server', () => {
    expect(isTransientConnectFailure(driverError('57P03'), false)).toBe(true);
    expect(isTransientConnectFailure(driverError('53300'), false)).toBe(true);
    expect(isTransientConnectFailure(driverError('ECONNREFUSED'), false)).toBe(false);
    expect(isTransientConnectFailure(driverError('ECONNREFUSED'), true)).toBe(true);
    for (const permanent of ['28P01', '3D000', '28000', 'ENOTFOUND']) expect(isTransientConnectFailure(driverError(permanent), true)).toBe(false);
    expect(isTransientConnectFailure(driverError(undefined, 'timeout exceeded when trying to connect'), true)).toBe(false);
  });
});

describe('the errors a fault becomes', () => {
  it('are RETRYABLE with the SQLSTATE, say whether anything was written, and never quote the driver text', () => {
    const rolledBack = faultError(target, driverError('57P01'), 'connection', 'transaction', 4);
    expect(rolledBack).toMatchObject({ code: 'RETRYABLE', sqlState: '57P01', retryable: true });
    expect(rolledBack.message).toBe(
      'Lost the connection to PostgreSQL at db.example:5432 (database "memory", user "n8n") during a transaction (tried 4 times): the server terminated the connection (a restart, a failover or an administrator), 57P01. The transaction was rolled back; nothing was written.',
    );
    expect(rolledBack.hint).toMatch(/safe to retry, with the same idempotency key/);

    const commit = faultError(target, driverError(undefined, 'Connection terminated unexpectedly'), 'connection', 'commit', 1);
    expect(commit).toMatchObject({ code: 'RETRYABLE', sqlState: '08006' });
    expect(commit.message).toMatch(/while committing: the connection closed unexpectedly, 08006\. The write may or may not have been stored\.$/);
    expect(commit.hint).toMatch(/same idempotency key.*never stored twice/);

    const deadlock = faultError(target, driverError('40P01'), 'serialization', 'transaction', 4);
    expect(deadlock.message).toMatch(/rolled the transaction back \(tried 4 times\): a deadlock with a concurrent transaction, 40P01\. Nothing was written\.$/);

    for (const error of [rolledBack, commit, deadlock]) expect(`${error.message} ${error.hint}`).not.toMatch(/secret|SELECT|terminated unexpectedly/);
  });

  it('a failed connect stays CONNECTION_FAILED (retryable) with its reason', () => {
    const refused = connectionError(target, driverError('ECONNREFUSED'));
    expect(refused).toMatchObject({ code: 'CONNECTION_FAILED', sqlState: 'ECONNREFUSED', retryable: true });
    expect(refused.message).toBe('Cannot connect to PostgreSQL at db.example:5432 (database "memory", user "n8n"): nothing is listening there');
    expect(refused.hint).toMatch(/Nothing was sent: it is safe to retry/);
    expect(connectionError(target, driverError('28P01')).hint).toBe('Check the user and password.');
  });
});
