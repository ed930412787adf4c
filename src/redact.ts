/**
 * Secrets an error text may quote, masked before the text is stored, returned or logged: URL
 * credentials, Authorization values (Bearer, Basic), API keys and `password=`-style settings.
 * Every quantifier is bounded, so the work stays linear however long the text.
 */

const MASK = '***';

/** `scheme://user:pass@host` (or a lone token as user name): the whole user part is masked; a password may hold `@`. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]{0,30}:\/\/)[^\s/?#@'"<>]{1,512}(?:@[^\s/?#@'"<>]{0,512}){0,8}@/gi;

/** Words that follow "Bearer"/"Basic" in prose ("a bearer token is required"): not credentials. */
const PROSE = 'token|tokens|auth|authentication|authorization|credentials?|realm|scheme|header|is|was|and|or|the|a|an|for|to|with|must|required|not|only';

/** The value given after `Bearer` or `Basic`. */
const AUTH_SCHEME = new RegExp(`\\b(Bearer|Basic)(\\s{1,8})(?!(?:${PROSE})\\b)[^\\s"'\`,;)}\\]]{1,4096}`, 'gi');

/** OpenAI-style keys (sk-..., sk-proj-..., sk-ant-...), wherever they appear. */
const SK_KEY = /\bsk-[A-Za-z0-9_-]{8,}/g;

/**
 * Setting names that hold secrets, with any prefix: x-api-key, client_secret, proxy-authorization,
 * set-cookie. `token` only with a prefix (access_token, x-auth-token) or as a query parameter:
 * "claim token: another claim holds it" is prose.
 */
const SECRET_NAME =
  '(?:(?:[a-z0-9]{1,20}[_-]){0,4}(?:api[_-]?key|apikey|private[_-]?key|secret|password|passwd|pwd|authorization|cookie)|(?:[a-z0-9]{1,20}[_-]){1,4}token|(?<=[?&])token)';

/**
 * `name=value`, `name: value`, `"name":"value"` (also JSON escaped inside JSON) for names that
 * hold secrets: echoed headers, query strings, libpq settings. An auth scheme before the value goes with it.
 */
const SECRET_SETTING = new RegExp(
  `\\b(${SECRET_NAME})(\\\\?["']?\\s{0,8}[=:]\\s{0,8})` +
    `(\\\\"(?:[^"\\\\]|\\\\\\\\){0,4096}?\\\\"|"(?:[^"\\\\]|\\\\.){0,4096}"|'[^']{0,4096}'|(?:(?:Bearer|Basic|Token)\\s{1,8})?[^\\s,;&"'}\\]]{1,4096})`,
  'gi',
);

/** The text with every secret it quotes masked; text without secrets comes back unchanged. */
export function redactSecrets(text: string): string {
  if (typeof text !== 'string' || text === '') return text;
  return text
    .replace(URL_CREDENTIALS, `$1${MASK}@`)
    .replace(SECRET_SETTING, (_match, name: string, separator: string, value: string) => `${name}${separator}${masked(value)}`)
    .replace(AUTH_SCHEME, `$1$2${MASK}`)
    .replace(SK_KEY, `sk-${MASK}`);
}

/** The mask in the value's own quotes, so echoed JSON stays JSON. */
function masked(value: string): string {
  if (value.startsWith('\\"')) return `\\"${MASK}\\"`;
  if (value.startsWith('"')) return `"${MASK}"`;
  if (value.startsWith("'")) return `'${MASK}'`;
  return MASK;
}

/**
 * A copy of an error that is safe to keep as a cause or to hand to a host (n8n persists a cause's
 * message): its name, masked message, system or SQLSTATE code, stack frames, and its causes copied
 * the same way. The original may hold the request's headers or an API answer that echoes them.
 */
export function redactedError(error: unknown, depth = 0): Error {
  const source = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown; stack?: unknown };
  const message = typeof source.message === 'string' ? source.message : String(error);
  const cause = depth < 4 && source.cause !== undefined ? { cause: redactedError(source.cause, depth + 1) } : undefined;
  const copy = new Error(redactSecrets(message), cause);
  if (typeof source.name === 'string') copy.name = source.name;
  if (typeof source.code === 'string') Object.assign(copy, { code: source.code });
  const frames = typeof source.stack === 'string' ? source.stack.split('\n').filter((line) => /^\s+at /.test(line)) : [];
  copy.stack = [`${copy.name}: ${copy.message}`, ...frames].join('\n');
  return copy;
}
