import type { Queryable } from '../db/database';
import { NO_USERS, withScope } from '../db/scope';
import { ROW_SECURITY_POLICY, ROW_SECURITY_TABLES } from './expected-objects';

export interface RowSecurityStatus {
  /** The role the operations of a user run as (on the embedded database, the role it switches to for them). */
  role: string;
  /** True when that role is held by the policies and every per-user table has them enabled (and forced, where the role owns it). */
  enforced: boolean;
  /** Why the role is never held by any policy. */
  bypassedBy?: 'superuser' | 'bypassrls';
  /** Per-user tables whose rows that role would see without the policies: row-level security off, not forced on their owner, or no ltst_scope policy. */
  unprotectedTables: string[];
}

interface TableRow {
  table: string;
  enabled: boolean;
  forced: boolean;
  owned: boolean;
  has_policy: boolean;
}

/** Reads, from the catalog only, whether row-level security holds the role that user operations run as. */
export async function readRowSecurity(db: Queryable, schema: string): Promise<RowSecurityStatus> {
  // Asked in the scope of no user, so the embedded database answers for the role it runs users as.
  const { rows } = await withScope(NO_USERS, () =>
    db.query<{ role: string; superuser: boolean; bypassrls: boolean; tables: TableRow[] }>(
      `SELECT r.rolname AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
              (SELECT coalesce(jsonb_agg(jsonb_build_object(
                         'table', c.relname, 'enabled', c.relrowsecurity, 'forced', c.relforcerowsecurity,
                         'owned', pg_has_role(current_user, c.relowner, 'USAGE'),
                         'has_policy', EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = $3))), '[]')
                 FROM pg_class c WHERE c.relnamespace = to_regnamespace($1) AND c.relname = ANY ($2::text[])) AS tables
         FROM pg_roles r WHERE r.rolname = current_user`,
      [schema, ROW_SECURITY_TABLES, ROW_SECURITY_POLICY],
    ),
  );
  const { role, superuser, bypassrls } = rows[0];
  const tables = typeof rows[0].tables === 'string' ? (JSON.parse(rows[0].tables) as TableRow[]) : rows[0].tables;
  const protectedTables = new Set(tables.filter((t) => t.enabled && t.has_policy && (t.forced || !t.owned)).map((t) => t.table));
  const unprotectedTables = ROW_SECURITY_TABLES.filter((table) => !protectedTables.has(table));
  const bypassedBy = superuser ? 'superuser' : bypassrls ? 'bypassrls' : undefined;
  return { role, enforced: bypassedBy === undefined && unprotectedTables.length === 0, ...(bypassedBy ? { bypassedBy } : {}), unprotectedTables };
}

/** What health says when row-level security does not hold. */
export function rowSecurityWarnings(status: RowSecurityStatus): string[] {
  const warnings: string[] = [];
  if (status.bypassedBy) {
    const why = status.bypassedBy === 'superuser' ? 'is a superuser' : 'has BYPASSRLS';
    warnings.push(`Row-level security is bypassed: role "${status.role}" ${why}, so isolation rests on each query's user filter alone. Run the store under a role without SUPERUSER and BYPASSRLS (see the README, Row-level security).`);
  }
  if (status.unprotectedTables.length > 0) {
    warnings.push(`Row-level security does not hold on ${status.unprotectedTables.join(', ')} (disabled, not forced on the owner, or without the ltst_scope policy): run migrate.`);
  }
  return warnings;
}
