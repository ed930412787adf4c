import { setLocalStatements } from '../../src/db/database';

describe('transaction settings', () => {
  it('become SET LOCAL statements with their values quoted as literals', () => {
    expect(setLocalStatements({ statement_timeout: 10_000, 'hnsw.iterative_scan': 'relaxed_order', application_name: "it's" })).toEqual([
      "SET LOCAL statement_timeout = '10000'",
      "SET LOCAL hnsw.iterative_scan = 'relaxed_order'",
      "SET LOCAL application_name = 'it''s'",
    ]);
    expect(setLocalStatements()).toEqual([]);
  });

  it.each(['statement_timeout; DROP TABLE x', 'Role', 'a.b.c', ''])('refuse the setting name %p', (name) => {
    expect(() => setLocalStatements({ [name]: 1 })).toThrow(/Not a setting name/);
  });
});
