import { errorCode, LtstError } from '../errors';

/** The driver error's fields this needs; pg's DatabaseError and PGlite's both carry them. */
interface DriverError {
  message?: unknown;
  column?: unknown;
}

/**
 * A data exception (SQLSTATE class 22: a value out of range, bad text, bad JSON...) that the database
 * raised although validation let the value through, as INVALID_INPUT: the column it names is the
 * field (else `input`), the SQLSTATE is kept. Any other error is returned as it is.
 */
export function dataExceptionAsInvalidInput(error: unknown): unknown {
  if (error instanceof LtstError && error.code === 'INVALID_INPUT') return error;
  const sqlState = error instanceof LtstError ? error.sqlState : errorCode(error);
  if (sqlState === undefined || !/^22[0-9A-Z]{3}$/.test(sqlState)) return error;
  const driver = ((error instanceof LtstError ? error.cause : error) ?? {}) as DriverError;
  const column = typeof driver.column === 'string' && driver.column !== '' ? driver.column : undefined;
  const reason = typeof driver.message === 'string' ? driver.message : String(error);
  return new LtstError('INVALID_INPUT', `The database refused ${column ? `the value of column ${column}` : 'a value'} (SQLSTATE ${sqlState}): ${reason}`, {
    field: column ?? 'input',
    sqlState,
    hint: 'Check the value against the input limits in the README (Memory operations) and send it again corrected.',
    cause: error,
  });
}

/**
 * A table or function of the store that does not exist (SQLSTATE 42P01, 42883) in its own schema:
 * the schema was never migrated, or by an older version. Said as such, with the fix, instead of
 * PostgreSQL's bare "relation does not exist". Any other error is returned as it is.
 */
export function missingSchemaObjectAsConfigError(error: unknown, schemaName: string): unknown {
  const sqlState = error instanceof LtstError ? error.sqlState : errorCode(error);
  const reason = error instanceof Error ? error.message : String(error);
  if ((sqlState !== '42P01' && sqlState !== '42883') || !reason.includes(`${schemaName}.`)) return error;
  return new LtstError('INVALID_CONFIG', `LTST memory is not installed, or not up to date, in schema "${schemaName}": ${reason}`, {
    sqlState,
    hint: 'Run migrate() (the CLI: ltst-memory migrate) for this schema first, as a role that may create tables in it.',
    cause: error,
  });
}
