-- A message is kept whole in its row, its embedding included. PostgreSQL moves values out of a row
-- to its TOAST table once the row passes 2 kB (toast_tuple_target's default), and pgvector's type
-- goes first: a 384-d vector is 1.5 kB, so most messages with an embedding had theirs there. An
-- exact search reads every vector of the user, one TOAST lookup each (measured at 2,000 messages:
-- 7.5 ms, 3.3 ms with the rows whole). Up to 8 kB (a page) a row now stays as it is; a longer
-- message still moves its largest values out. Rows stored before stay as they are until the table
-- is rewritten (VACUUM FULL or pg_repack, when the user chooses: both lock or copy the table).
ALTER TABLE {{schema}}.conversation_messages SET (toast_tuple_target = 8160);
