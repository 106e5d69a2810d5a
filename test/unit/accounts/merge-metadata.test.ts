import { hasChanges, planMetadataMerge, type MetadataKind } from '../../../src/accounts/merge-metadata.js';
import type { WireUser } from '../../../src/auth0/wire.js';

type Metadata = Record<string, unknown>;

const user = (user_metadata?: Metadata, app_metadata?: Metadata): WireUser => ({
  user_id: 'auth0|1',
  ...(user_metadata ? { user_metadata } : {}),
  ...(app_metadata ? { app_metadata } : {}),
});
const USER_ONLY: MetadataKind[] = ['user_metadata'];

describe('planMetadataMerge', () => {
  it.each<[string, Metadata | undefined, Metadata | undefined, string[], Metadata | undefined, Metadata | undefined]>([
    ['adds a key only the secondary has', { a: 1 }, { b: 2 }, ['b'], { b: 2 }, { b: null }],
    ['keeps the primary value on a collision', { a: 1 }, { a: 2 }, [], undefined, undefined],
    ['merges nested objects, the primary winning inside too', { p: { x: 1, y: 1 } }, { p: { y: 2, z: 2 } }, ['p'],
      { p: { x: 1, y: 1, z: 2 } }, { p: { x: 1, y: 1 } }],
    ['merges several levels deep', { p: { q: { x: 1 } } }, { p: { q: { y: 2 } } }, ['p'],
      { p: { q: { x: 1, y: 2 } } }, { p: { q: { x: 1 } } }],
    ['treats arrays as values, never concatenated', { t: [1] }, { t: [2, 3] }, [], undefined, undefined],
    ['keeps a primary null, scalar or array over a secondary object', { a: null, b: 1, c: [] }, { a: { x: 1 }, b: { x: 1 }, c: { x: 1 } }, [], undefined, undefined],
    ['keeps a primary object over a secondary scalar', { a: { x: 1 } }, { a: 5 }, [], undefined, undefined],
    ['reports no change for a nested object with nothing new', { p: { x: 1 } }, { p: { x: 2 } }, [], undefined, undefined],
    ['adds everything to a primary without metadata', undefined, { a: 1, p: { x: 1 } }, ['a', 'p'],
      { a: 1, p: { x: 1 } }, { a: null, p: null }],
    ['changes nothing when the secondary has no metadata', { a: 1 }, undefined, [], undefined, undefined],
  ])('%s', (_title, primary, secondary, keys, update, restore) => {
    const plan = planMetadataMerge(user(primary), user(secondary), USER_ONLY);
    expect(plan.keys).toEqual({ userMetadataKeys: keys, appMetadataKeys: [] });
    expect(plan.update.user_metadata).toEqual(update);
    expect(plan.restore.user_metadata).toEqual(restore);
    expect(hasChanges(plan)).toBe(keys.length > 0);
  }); // prettier-ignore

  it('merges app_metadata only when asked', () => {
    const primary = user({ a: 1 }, { plan: 'pro' });
    const secondary = user({ b: 1 }, { crm: 7 });
    expect(planMetadataMerge(primary, secondary, USER_ONLY)).toEqual({
      keys: { userMetadataKeys: ['b'], appMetadataKeys: [] },
      update: { user_metadata: { b: 1 } },
      restore: { user_metadata: { b: null } },
    });
    expect(planMetadataMerge(primary, secondary, ['user_metadata', 'app_metadata'])).toEqual({
      keys: { userMetadataKeys: ['b'], appMetadataKeys: ['crm'] },
      update: { user_metadata: { b: 1 }, app_metadata: { crm: 7 } },
      restore: { user_metadata: { b: null }, app_metadata: { crm: null } },
    });
  });

  it('leaves a kind without changes out of both bodies, so neither ever holds an empty object', () => {
    const plan = planMetadataMerge(user({ a: 1 }, { x: 1 }), user({ a: 2 }, { y: 1 }), [
      'user_metadata',
      'app_metadata',
    ]);
    expect(plan.update).toEqual({ app_metadata: { y: 1 } });
    expect(plan.restore).toEqual({ app_metadata: { y: null } });
  });

  it('keeps a "__proto__" key as data and never touches a prototype', () => {
    const secondary = JSON.parse('{"user_id":"auth0|2","user_metadata":{"__proto__":{"polluted":true}}}');
    const plan = planMetadataMerge(user({ a: 1 }), secondary, USER_ONLY);
    expect(plan.keys.userMetadataKeys).toEqual(['__proto__']);
    expect(Object.hasOwn(plan.update.user_metadata!, '__proto__')).toBe(true);
    expect(JSON.stringify(plan.update)).toBe('{"user_metadata":{"__proto__":{"polluted":true}}}');
    expect(({} as Metadata).polluted).toBeUndefined();
  });

  it('does not change the users it is given', () => {
    const primary = user({ p: { x: 1 } });
    const secondary = user({ p: { y: 2 } });
    planMetadataMerge(primary, secondary, USER_ONLY);
    expect(primary.user_metadata).toEqual({ p: { x: 1 } });
    expect(secondary.user_metadata).toEqual({ p: { y: 2 } });
  });

  // Review L11: the merge builds its result through a Map (a findIndex per colliding key made it
  // quadratic). How long it takes is the bench's business, not a test's; this one pins that many
  // colliding keys keep their order and each its merged value.
  it('merges two objects with 5 000 colliding keys each, keeping the key order', () => {
    const count = 5000;
    const mine: Record<string, unknown> = {};
    const theirs: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      mine[`k${i}`] = { a: i };
      theirs[`k${i}`] = { b: i };
    }
    const merged = planMetadataMerge(user({ p: mine }), user({ p: theirs }), USER_ONLY).update.user_metadata!
      .p as Record<string, unknown>;
    const keys = Object.keys(merged);
    expect(keys).toHaveLength(count);
    expect(keys.at(-1)).toBe('k4999');
    expect(merged.k7).toEqual({ a: 7, b: 7 });
  });
});
