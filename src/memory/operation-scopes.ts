import { ALL_USERS, NO_USERS, withScope, type DataScope } from '../db/scope';
import { ID_LENGTH } from '../schema/column-limits';
import { wellFormed } from './validation';

/**
 * How each public operation names the users whose rows it may touch, from its own arguments. A
 * rule never throws: an argument the operation will refuse (missing, empty, too long, NUL) gives no
 * user, and the operation's own validation reports it before any statement on a per-user table.
 */
export type ScopeRules<Ops> = { [K in keyof Ops]: Ops[K] extends (...args: infer A) => unknown ? (...args: A) => DataScope : never };

/** The user id as the operation stores it (lone surrogates as U+FFFD), or undefined when it will be refused. */
function userIdOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 2 * ID_LENGTH || value.includes('\u0000')) return undefined;
  return wellFormed(value);
}

const field = (value: unknown, key: string): unknown => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined);

/** The scope of one user (no user when the id will be refused). */
export function userScope(value: unknown): DataScope {
  const userId = userIdOf(value);
  return userId === undefined ? NO_USERS : { users: [userId] };
}

/** The scope of `input.userId`. */
export const inputUserScope = (input: unknown): DataScope => userScope(field(input, 'userId'));

/**
 * Most users a batch is scoped to one by one. The policies compare every row they check with each
 * listed user: 1,000 users made a batch of 1,000 messages 4x slower. A batch over more users (an
 * import-sized one) runs for all users, its rows kept apart by each statement's own user filter.
 */
export const MAX_SCOPED_USERS = 100;

/** A batch of messages may hold several users' turns (one Store Message run over many chats): it is scoped to exactly those users. */
export function messagesScope(messages: unknown): DataScope {
  if (!Array.isArray(messages)) return NO_USERS;
  const users = new Set(messages.map((message) => userIdOf(field(message, 'userId'))).filter((id): id is string => id !== undefined));
  return users.size > MAX_SCOPED_USERS ? ALL_USERS : { users: [...users] };
}

/** Maintenance over every user, stated as such. */
export const allUsersScope = (): DataScope => ALL_USERS;

/** `userId` when the options name one, else every user (backfill of the whole store). */
export const optionalUserScope = (options: unknown): DataScope => {
  const userId = field(options, 'userId');
  return userId === undefined || userId === null ? ALL_USERS : userScope(userId);
};

/** Each operation runs in the scope its rule gives for its arguments. */
export function withDataScopes<T extends Record<string, (...args: never[]) => Promise<unknown>>>(ops: T, rules: ScopeRules<T>): T {
  const scoped: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(ops)) {
    const rule = rules[name as keyof T] as (...args: unknown[]) => DataScope;
    scoped[name] = (...args: unknown[]) => withScope(rule(...args), () => (op as (...a: unknown[]) => Promise<unknown>)(...args));
  }
  return scoped as T;
}
