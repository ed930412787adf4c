import { openMemory } from '../../src';
import { closeAllMemory } from '../../src/memory-store';
import { dropSchema, ltstErrorOf, testTargets } from '../helpers/databases';

/** A store used before its schema was ever migrated says so, and what to do, instead of "relation does not exist". */
describe.each(testTargets(__filename))('a schema never migrated, on $name', ({ config }) => {
  beforeAll(() => dropSchema(config));
  afterAll(async () => {
    await dropSchema(config);
    await closeAllMemory();
  });

  it('refuses an operation as INVALID_CONFIG naming the schema, with migrate as the fix', async () => {
    const store = openMemory(config);
    for (const call of [
      () => store.storeMessage({ userId: 'ada', sessionId: 's1', role: 'human', content: 'hello' }),
      () => store.retrieveContext({ userId: 'ada', query: 'hello' }),
      () => store.importMessages([{ userId: 'ada', sessionId: 's1', role: 'human', content: 'hello' }]),
    ]) {
      const error = await ltstErrorOf(call());
      expect(error).toMatchObject({ code: 'INVALID_CONFIG', sqlState: '42P01', hint: expect.stringContaining('migrate()') });
      expect(error.message).toContain(`LTST memory is not installed, or not up to date, in schema "${config.schema}"`);
    }
  });
});
