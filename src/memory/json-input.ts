import { invalidInput } from '../errors';
import { MAX_JSON_DEPTH } from '../schema/column-limits';
import { cleanText, shown } from './validation';

type Container = Record<string, unknown> | unknown[];

const isPlainObject = (value: object) => {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

const childPath = (path: string, key: string) => (/^[A-Za-z_$][\w$]{0,63}$/.test(key) ? `${path}.${key}` : `${path}[${shown(key)}]`);

/**
 * A JSON object input (metadata, eventData) as the JSON text to store, checked without recursion
 * (a deep value cannot blow the stack): a plain object, at most MAX_JSON_DEPTH levels deep (a value
 * that contains itself is refused as too deep), at most `maxBytes` as JSON, holding only strings,
 * finite numbers, booleans, null, arrays, plain objects and valid Dates (stored as ISO text), like
 * JSON.stringify, an undefined property is left out and an undefined array item becomes null.
 * Text follows cleanText (NUL refused, lone surrogates become U+FFFD), keys included.
 */
export function jsonObjectText(field: string, value: unknown, maxBytes: number): string {
  if (value === undefined || value === null) return '{}';
  if (typeof value !== 'object' || Array.isArray(value) || !isPlainObject(value)) {
    throw invalidInput(field, 'is not a JSON object', 'Pass an object such as {"source": "chat"}; parse JSON text first.');
  }
  const tooBig = (bytes: string) => invalidInput(field, `is ${bytes} bytes as JSON, over the limit of ${maxBytes}`, 'Store less in it, or raise maxContentBytes.');
  const root: Container = {};
  const stack: Array<{ value: unknown; path: string; depth: number; into: Container; key: string | number }> = [{ value, path: field, depth: 0, into: root, key: 'root' }];
  // A lower bound of the JSON size (every UTF-16 unit is at least one UTF-8 byte), to stop early on huge input.
  let atLeast = 0;
  while (stack.length > 0) {
    const { value: item, path, depth, into, key } = stack.pop() as (typeof stack)[number];
    const put = (clean: unknown) => ((into as Record<string | number, unknown>)[key] = clean);
    if (item === null || typeof item === 'boolean') put(item);
    else if (typeof item === 'string') {
      atLeast += item.length + 2;
      if (atLeast > maxBytes) throw tooBig(`over ${maxBytes}`);
      put(cleanText(path, item));
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) throw invalidInput(path, `is ${item}`, 'JSON has no NaN or Infinity: use a finite number, or null.');
      put(item);
    } else if (item instanceof Date) {
      if (Number.isNaN(item.getTime())) throw invalidInput(path, 'is an invalid Date', 'Use a valid date, or its ISO 8601 text.');
      put(item.toISOString());
    } else if (typeof item === 'object' && (Array.isArray(item) || isPlainObject(item))) {
      if (depth >= MAX_JSON_DEPTH) {
        throw invalidInput(field, `is nested deeper than ${MAX_JSON_DEPTH} levels (or contains itself)`, `Flatten it to at most ${MAX_JSON_DEPTH} levels of objects and arrays.`);
      }
      if (Array.isArray(item)) {
        atLeast += item.length + 2;
        if (atLeast > maxBytes) throw tooBig(`over ${maxBytes}`);
        const copy: unknown[] = new Array(item.length).fill(null);
        put(copy);
        for (let i = item.length - 1; i >= 0; i -= 1) {
          if (item[i] !== undefined) stack.push({ value: item[i], path: `${path}[${i}]`, depth: depth + 1, into: copy, key: i });
        }
      } else {
        // No prototype: a "__proto__" key stays an ordinary key, as JSON.parse made it.
        const copy: Record<string, unknown> = Object.create(null);
        put(copy);
        const entries = Object.entries(item as Record<string, unknown>).filter(([, v]) => v !== undefined);
        for (let i = entries.length - 1; i >= 0; i -= 1) {
          const [name, child] = entries[i];
          atLeast += name.length + 4;
          if (atLeast > maxBytes) throw tooBig(`over ${maxBytes}`);
          stack.push({ value: child, path: childPath(path, name), depth: depth + 1, into: copy, key: cleanText(path, name) });
        }
      }
    } else {
      const kind = typeof item === 'object' ? `a ${(item as object).constructor?.name ?? 'non-plain object'}` : `a ${typeof item}`;
      throw invalidInput(path, `is ${kind}, which JSON cannot hold`, 'Use only text, numbers, true/false, null, lists and plain objects.');
    }
  }
  const text = JSON.stringify((root as Record<string, unknown>).root);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw tooBig(String(bytes));
  return text;
}
