import { VARCHAR_LIMITS } from '../../src/schema/column-limits';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

describe.each(testTargets(__filename))('column limits on $name', ({ config }) => {
  useFreshSchema(config);

  it('match the installed catalog: every varchar column of every LTST table, with its width', async () => {
    const columns = await onDatabase(config, async (db) =>
      (
        await db.query<{ table_name: string; column_name: string; width: number }>(
          `SELECT c.table_name, c.column_name, c.character_maximum_length AS width
             FROM information_schema.columns c
             JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE' AND c.data_type = 'character varying'
            ORDER BY c.table_name, c.ordinal_position`,
          [config.schema],
        )
      ).rows,
    );
    const installed: Record<string, Record<string, number>> = {};
    for (const { table_name, column_name, width } of columns) (installed[table_name] ??= {})[column_name] = Number(width);
    expect(installed).toEqual(VARCHAR_LIMITS);
  });
});
