import { LtstError, redactSecrets, redactedError } from '../../src';

describe('redactSecrets', () => {
  it.each([
    ['bearer token', 'Authorization: Bearer sk-live-abc', 'Authorization: ***'],
    ['bearer alone', 'sent Bearer eyJhbGciOi.eyJzdWIi.sig', 'sent Bearer ***'],
    ['basic credentials', 'Basic dXNlcjpwYXNz rejected', 'Basic *** rejected'],
    ['sk- key anywhere', 'Incorrect API key provided: sk-proj-AbC123xyz789', 'Incorrect API key provided: sk-***'],
    ['api_key in a query string', 'GET /v1?api_key=abc123&model=x', 'GET /v1?api_key=***&model=x'],
    ['apikey with a colon', 'apikey: abc123', 'apikey: ***'],
    ['x-api-key header', 'x-api-key: k-123 and more', 'x-api-key: *** and more'],
    ['echoed JSON headers', '{"host":"h","authorization":"Bearer abc.def","accept":"*/*"}', '{"host":"h","authorization":"***","accept":"*/*"}'],
    ['echoed JSON inside JSON', '{\\"authorization\\":\\"Bearer abc\\",\\"a\\":1}', '{\\"authorization\\":\\"***\\",\\"a\\":1}'],
    ['URL credentials', 'Cannot reach http://user:pa55@127.0.0.1:8080/v1', 'Cannot reach http://***@127.0.0.1:8080/v1'],
    ['URL with a token as user', 'https://ghp_token123@github.com/x', 'https://***@github.com/x'],
    ['password holding @', 'postgres://app:p@ss@db:5432/memory', 'postgres://***@db:5432/memory'],
    ['libpq key=value', 'host=db user=app password=hunter2 dbname=m', 'host=db user=app password=*** dbname=m'],
    ['quoted password', "password='hunter 2' host=db", "password='***' host=db"],
    ['client secret', 'client_secret=s3cr3t', 'client_secret=***'],
    ['access token field', '"access_token": "ya29.a0"', '"access_token": "***"'],
    ['auth token header', 'X-Auth-Token: abc123', 'X-Auth-Token: ***'],
    ['token query parameter', 'GET /hook?token=abc123&x=1', 'GET /hook?token=***&x=1'],
  ])('masks %s', (_name, input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it.each([
    'Session "s1" belongs to another user',
    'a bearer token is required',
    'Basic authentication failed',
    'the password was rejected',
    'Check the user and password.',
    'tokenBudget is 0; estimated tokens: 40',
    'Cannot reach the embeddings API at http://127.0.0.1:11434/v1: ECONNREFUSED',
    'key "tone" of user "ana"',
    'Event 216 cannot be completed with this claim token: another claim holds it now',
    'Remove user:password@ from the base URL and put the key in the API Key field: OpenAI-compatible servers take it as a Bearer token.',
  ])('leaves text without secrets alone: %s', (text) => {
    expect(redactSecrets(text)).toBe(text);
  });

  it('is idempotent and stays fast on long hostile text', () => {
    const once = redactSecrets('password=x Bearer y http://u:p@h');
    expect(redactSecrets(once)).toBe(once);
    const started = performance.now();
    for (const text of ['a'.repeat(1_000_000), 'http://'.repeat(100_000), '"password":"'.repeat(50_000), 'x@'.repeat(300_000)]) redactSecrets(text);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('every error is masked as constructed', () => {
  it("masks an LtstError's message, hint and stack", () => {
    const error = new LtstError('QUERY_FAILED', 'at https://u:pw1@x/v1', { hint: 'use api_key=sk-abcdefgh123' });
    expect(error).toMatchObject({ message: 'at https://***@x/v1', hint: 'use api_key=***', code: 'QUERY_FAILED' });
    expect(error.stack).not.toContain('pw1');
  });

  it('copies an error and its causes with their secrets masked, keeping names and codes', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED, password=pw2'), { code: 'ECONNREFUSED' });
    const api = Object.assign(new Error('401 {"authorization":"Bearer sk-abcdefgh456"}', { cause: root }), { name: 'AuthenticationError', headers: { authorization: 'Bearer sk-abcdefgh456' } });
    const copy = redactedError(api);
    expect(copy).toMatchObject({ name: 'AuthenticationError', message: '401 {"authorization":"***"}' });
    expect(copy).not.toHaveProperty('headers');
    expect(copy.cause).toMatchObject({ message: 'connect ECONNREFUSED, password=***', code: 'ECONNREFUSED' });
    expect(`${copy.stack} ${(copy.cause as Error).stack}`).not.toMatch(/pw2|sk-abcdefgh456/);
  });
});
