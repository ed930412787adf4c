import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whose rows the work running now may read and write: some users (one, for almost every
 * operation), or every user (maintenance that spans users, stated explicitly). Row-level security
 * (migration 0006) enforces it in the database: the driver applies the scope of the calling
 * operation to the connection it uses, so no query needs to repeat it. Work that declared no scope
 * sees no rows of the per-user tables and can write none.
 */
export type DataScope = { readonly users: readonly string[] } | { readonly allUsers: true };

/** The two settings the policies read, as the driver sets them (set_config, session level). */
export interface ScopeSettings {
  /** ltst.scope: 'users', 'all', or '' (no scope: the policies let nothing through). */
  scope: 'users' | 'all' | '';
  /** ltst.user_ids, sent as text[]: the users of a 'users' scope, else empty. */
  userIds: string[];
  /** One string per distinct scope, to tell whether a connection already has it. */
  key: string;
}

const current = new AsyncLocalStorage<DataScope>();

export const ALL_USERS: DataScope = Object.freeze({ allUsers: true as const });
/** A scope of no user: what work without a declared scope gets. */
export const NO_USERS: DataScope = Object.freeze({ users: Object.freeze([]) });

/** Runs `work` (and everything it awaits or schedules) in `scope`. */
export function withScope<T>(scope: DataScope, work: () => T): T {
  return current.run(scope, work);
}

/** Runs `work` for every user: maintenance, migrations, buffered writers that batch many users' rows. */
export function asAllUsers<T>(work: () => T): T {
  return withScope(ALL_USERS, work);
}

/** The scope of the work running now; no declaration is no user. */
export function currentScope(): DataScope {
  return current.getStore() ?? NO_USERS;
}

/** The settings for `scope`, with the users sorted and deduplicated (one key per set of users). */
export function scopeSettings(scope: DataScope): ScopeSettings {
  if ('allUsers' in scope) return { scope: 'all', userIds: [], key: 'all' };
  const userIds = [...new Set(scope.users)].sort();
  if (userIds.length === 0) return { scope: '', userIds, key: '' };
  return { scope: 'users', userIds, key: JSON.stringify(userIds) };
}

/** The statement that gives a connection its scope; `role` adds the role user scopes run as (embedded database). */
export function applyScopeSql(withRole: boolean): string {
  const role = withRole ? `set_config('role', $3, false), ` : '';
  return `SELECT ${role}set_config('ltst.scope', $1, false), set_config('ltst.user_ids', $2::text[]::text, false)`;
}
