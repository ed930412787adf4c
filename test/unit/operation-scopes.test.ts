import { ALL_USERS, NO_USERS, scopeSettings } from '../../src/db/scope';
import { MAX_SCOPED_USERS, inputUserScope, messagesScope, optionalUserScope, userScope } from '../../src/memory/operation-scopes';

describe('operation scopes', () => {
  it('name the one user an operation is called for, and no user for an id it will refuse', () => {
    expect(userScope('alice')).toEqual({ users: ['alice'] });
    expect(inputUserScope({ userId: 'bob', sessionId: 's' })).toEqual({ users: ['bob'] });
    // Refused later by the operation's own validation, before any statement on a per-user table.
    for (const bad of [undefined, null, '', '   ', 42, 'nul\u0000byte', 'x'.repeat(600)]) expect(userScope(bad)).toBe(NO_USERS);
    expect(inputUserScope(null)).toBe(NO_USERS);
    // A lone surrogate is stored as U+FFFD: the scope names the id as it is stored.
    expect(userScope('half\uD83D')).toEqual({ users: ['half\uFFFD'] });
  });

  it('scope a batch to exactly its users, and a batch of more users than the policies check cheaply to all users', () => {
    const turn = (userId: string) => ({ userId, sessionId: `${userId}-s`, role: 'human', content: 'hi' });
    expect(scopeSettings(messagesScope([turn('b'), turn('a'), turn('b')]))).toEqual({ scope: 'users', userIds: ['a', 'b'], key: '["a","b"]' });
    const many = Array.from({ length: MAX_SCOPED_USERS + 1 }, (_, i) => turn(`user-${i}`));
    expect(messagesScope(many.slice(0, MAX_SCOPED_USERS))).toMatchObject({ users: expect.arrayContaining(['user-0']) });
    expect(messagesScope(many)).toBe(ALL_USERS);
    expect(messagesScope('not a list')).toBe(NO_USERS);
  });

  it('scope a backfill to its user when it names one, else to all users', () => {
    expect(optionalUserScope({ userId: 'carol' })).toEqual({ users: ['carol'] });
    expect(optionalUserScope({})).toBe(ALL_USERS);
    expect(optionalUserScope(undefined)).toBe(ALL_USERS);
  });

  it('turn into the settings the policies read: no scope is no user', () => {
    expect(scopeSettings(ALL_USERS)).toEqual({ scope: 'all', userIds: [], key: 'all' });
    expect(scopeSettings(NO_USERS)).toEqual({ scope: '', userIds: [], key: '' });
  });
});
