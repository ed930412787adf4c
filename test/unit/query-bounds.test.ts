import { LtstError } from '../../src/errors';
import { boundQuery, MAX_QUERY_CHARS, MAX_QUERY_TERMS, pickQueryTerms, timeoutError, type QueryTerm } from '../../src/retrieval/bounds';

const term = (name: string, documentFrequency: number, queryFrequency = 1): QueryTerm => ({ term: name, queryFrequency, documentFrequency });

describe('pickQueryTerms', () => {
  it('keeps every term of a normal question, in any order, dropping only terms no message has', () => {
    const question = [term('lisbon', 3), term('trip', 40), term('plan', 120), term('zzz', 0)];
    expect(pickQueryTerms(question, 5_000).map((t) => t.term).sort()).toEqual(['lisbon', 'plan', 'trip']);
  });

  it('keeps MAX_QUERY_TERMS of a long text: the rarest for the user, a term the text repeats before an equally rare one', () => {
    const terms = Array.from({ length: 5_000 }, (_, i) => term(`t${i}`, 1 + (i % 1_000)));
    const picked = pickQueryTerms(terms, 5_000);
    expect(picked).toHaveLength(MAX_QUERY_TERMS);
    const left = terms.filter((t) => !picked.includes(t));
    expect(Math.max(...picked.map((t) => t.documentFrequency))).toBeLessThanOrEqual(Math.min(...left.map((t) => t.documentFrequency)));
    const repeated = [...terms, term('often', 1, 3)];
    expect(pickQueryTerms(repeated, 5_000)[0].term).toBe('often');
    // A common word repeated a few times does not push out a rare one.
    expect(pickQueryTerms([term('common', 2_500, 4), term('rare', 3)], 5_000, 1)[0].term).toBe('rare');
  });

  it('is deterministic: equal weights are ordered by the term', () => {
    const terms = ['d', 'b', 'a', 'c'].map((name) => term(name, 7));
    expect(pickQueryTerms(terms, 100, 2).map((t) => t.term)).toEqual(['a', 'b']);
  });
});

describe('boundQuery', () => {
  it('leaves a query within the cap as it is', () => {
    const query = 'x'.repeat(MAX_QUERY_CHARS);
    expect(boundQuery(query)).toEqual({ text: query, truncated: false });
  });

  it('cuts a longer one at the last space before the cap', () => {
    const query = 'word '.repeat(MAX_QUERY_CHARS);
    const { text, truncated } = boundQuery(query);
    expect(truncated).toBe(true);
    expect(text.length).toBeLessThanOrEqual(MAX_QUERY_CHARS);
    expect(text.length).toBeGreaterThan(MAX_QUERY_CHARS - 100);
    expect(text.endsWith('word')).toBe(true);
  });

  it('never splits a surrogate pair when there is no space to cut at', () => {
    const query = `${'a'.repeat(MAX_QUERY_CHARS - 1)}😀${'b'.repeat(10)}`;
    const { text } = boundQuery(query);
    expect(text).toBe('a'.repeat(MAX_QUERY_CHARS - 1));
  });
});

describe('timeoutError', () => {
  it('turns a statement cancelled by statement_timeout (57014) into QUERY_FAILED with a hint', () => {
    const cancelled = Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
    const error = timeoutError(cancelled, 250) as LtstError;
    expect(error).toBeInstanceOf(LtstError);
    expect(error).toMatchObject({ code: 'QUERY_FAILED', sqlState: '57014', cause: cancelled });
    expect(error.message).toMatch(/250 ms/);
    expect(error.hint).toMatch(/Shorten the query.*timeoutMs/);
  });

  it('also maps a 57014 that another layer already typed, and leaves every other error alone', () => {
    const typed = new LtstError('RETRYABLE', 'canceling statement', { sqlState: '57014' });
    expect(timeoutError(typed, 10)).toMatchObject({ code: 'QUERY_FAILED', sqlState: '57014' });
    const other = Object.assign(new Error('deadlock'), { code: '40P01' });
    expect(timeoutError(other, 10)).toBe(other);
  });
});
