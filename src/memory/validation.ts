import { invalidInput } from '../errors';

/** Checks shared by every operation; each throws INVALID_INPUT naming the field and the fix. */

const MAX_ID_LENGTH = 255;

export function requireId(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidInput(field, 'is missing or empty', `Set ${field} to a non-empty string (in n8n, for example {{ $json.${field} }}).`);
  }
  if (value.length > MAX_ID_LENGTH) throw invalidInput(field, `is longer than ${MAX_ID_LENGTH} characters`, `Use an id of at most ${MAX_ID_LENGTH} characters.`);
  return value;
}

export function optionalId(field: string, value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : requireId(field, value);
}

export function requireOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalidInput(field, `is ${JSON.stringify(value)}`, `Use one of: ${allowed.join(', ')}.`);
  }
  return value as T;
}

/** A score in [0, 1]; NaN and infinities are refused, not clamped. */
export function requireScore(field: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw invalidInput(field, `is ${String(value)}`, 'Use a number from 0 to 1.');
  }
  return value;
}

export function requireWholeNumber(field: string, value: unknown, fallback: number, max = 2_147_483_647, min = 0): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidInput(field, `is ${String(value)}`, `Use a whole number from ${min} to ${max}.`);
  }
  return value;
}

/** Metadata must be a plain JSON object (not an array, string or null). */
export function requireJsonObject(field: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    throw invalidInput(field, 'is not a JSON object', 'Pass an object such as {"source": "chat"}; parse JSON text first.');
  }
  return value as Record<string, unknown>;
}

export function requireText(field: string, value: unknown, maxBytes: number): string {
  if (typeof value !== 'string') throw invalidInput(field, 'is not text', `Set ${field} to a string.`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) throw invalidInput(field, `is ${bytes} bytes, over the limit of ${maxBytes}`, 'Shorten it, split it into several messages, or raise maxContentBytes.');
  return value;
}

export function optionalDate(field: string, value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw invalidInput(field, `is not a date: ${String(value)}`, 'Use an ISO 8601 date such as 2026-01-31T12:00:00Z.');
  return date;
}
