import { invalidInput } from '../errors';
import { BIGINT_MAX, EARLIEST_TIMESTAMP, ID_LENGTH, INT4_MAX, LATEST_TIMESTAMP } from '../schema/column-limits';

/** Checks shared by every operation; each throws INVALID_INPUT naming the field and the fix. */

/** A value as an error message shows it: one short line, never the whole input. */
export function shown(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : typeof value === 'bigint' ? `${value}n` : String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// Node 20 has both at runtime; the ES2022 typings lack them.
type WellFormedString = string & { isWellFormed(): boolean; toWellFormed(): string };

/**
 * Text as PostgreSQL stores it: NUL is refused (text and jsonb cannot hold it), and a lone UTF-16
 * surrogate becomes U+FFFD, here, before any hash is taken, so stored, returned and hashed text agree.
 */
export function cleanText(field: string, value: string): string {
  if (value.includes('\u0000')) {
    throw invalidInput(field, 'contains a NUL character (\\u0000), which PostgreSQL cannot store', `Remove the NUL characters from ${field}.`);
  }
  return wellFormed(value);
}

/** Lone UTF-16 surrogates (half an emoji, from text cut in the wrong place) as U+FFFD, as a UTF-8 encoder writes them. */
export function wellFormed(value: string): string {
  const text = value as WellFormedString;
  return text.isWellFormed() ? value : text.toWellFormed();
}

/** Characters as varchar(n) counts them (code points): an emoji is one, not two UTF-16 units. */
function characterCount(value: string): number {
  let pairs = 0;
  for (let i = 0; i < value.length; i += 1) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) pairs += 1;
  }
  return value.length - pairs;
}

/** A string that fits varchar(maxLength) (the empty string too); see cleanText. */
export function requireVarchar(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string') throw invalidInput(field, `is not text: ${shown(value)}`, `Set ${field} to a string.`);
  // Well-formed text has at least half as many characters as UTF-16 units: count only when it may not fit.
  if (value.length > 2 * maxLength) throw invalidInput(field, `is longer than ${maxLength} characters`, `Use at most ${maxLength} characters.`);
  const text = cleanText(field, value);
  if (text.length > maxLength && characterCount(text) > maxLength) throw invalidInput(field, `is longer than ${maxLength} characters`, `Use at most ${maxLength} characters.`);
  return text;
}

export function requireId(field: string, value: unknown, maxLength: number = ID_LENGTH): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidInput(field, 'is missing or empty', `Set ${field} to a non-empty string (in n8n, for example {{ $json.${field} }}).`);
  }
  return requireVarchar(field, value, maxLength);
}

export function optionalId(field: string, value: unknown, maxLength: number = ID_LENGTH): string | undefined {
  return value === undefined || value === null ? undefined : requireId(field, value, maxLength);
}

export function requireOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalidInput(field, `is ${shown(value)}`, `Use one of: ${allowed.join(', ')}.`);
  }
  return value as T;
}

/** Numbers must be numbers: numeric text ("0.5") is refused like any other wrong type. */
const notText = (value: unknown) => (typeof value === 'string' ? ' (a number, not text)' : '');

/** A score in [0, 1]; NaN and infinities are refused, not clamped. */
export function requireScore(field: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw invalidInput(field, `is ${shown(value)}`, `Use a number from 0 to 1${notText(value)}.`);
  }
  return value;
}

export function requireWholeNumber(field: string, value: unknown, fallback: number, max = INT4_MAX, min = 0): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidInput(field, `is ${shown(value)}`, `Use a whole number from ${min} to ${max}${notText(value)}.`);
  }
  return value;
}

/**
 * The id of a stored row (bigint): a positive whole number, or its decimal digits as text, since
 * ids can pass 2^53 where a JavaScript number loses digits. Returned as text for a ::bigint parameter.
 */
export function requireRowId(field: string, value: unknown, hint: string): string {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,18}$/.test(text) || BigInt(text) > BIGINT_MAX) {
    throw invalidInput(field, `is not a valid id: ${shown(value)}`, `${hint} Ids are positive whole numbers up to ${BIGINT_MAX}; pass a larger than 2^53 one as text.`);
  }
  return text;
}

export function requireText(field: string, value: unknown, maxBytes: number): string {
  if (typeof value !== 'string') throw invalidInput(field, `is not text: ${shown(value)}`, `Set ${field} to a string.`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) throw invalidInput(field, `is ${bytes} bytes, over the limit of ${maxBytes}`, 'Shorten it, split it into several messages, or raise maxContentBytes.');
  return cleanText(field, value);
}

/** A Date, an ISO 8601 string or epoch milliseconds, in years 100 to 9999 (see EARLIEST_TIMESTAMP). */
export function optionalDate(field: string, value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw invalidInput(field, `is not a date: ${shown(value)}`, 'Use an ISO 8601 date such as 2026-01-31T12:00:00Z.');
  if (date < EARLIEST_TIMESTAMP || date > LATEST_TIMESTAMP) {
    throw invalidInput(field, `is outside years 100 to 9999: ${shown(value)}`, 'Use a date from 0100-01-01 to 9999-12-31 (UTC).');
  }
  return date;
}
