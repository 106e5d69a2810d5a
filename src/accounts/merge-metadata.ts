import { isDeepStrictEqual } from 'node:util';
import type { WireUser, WireUserUpdate } from '../auth0/wire.js';

/** The metadata objects of an Auth0 user. */
export type MetadataKind = 'user_metadata' | 'app_metadata';

type Metadata = Record<string, unknown>;

/** The top-level keys a merge changed in the primary, per kind (what `MergedMetadata` reports). */
export interface MergedMetadataKeys {
  userMetadataKeys: string[];
  appMetadataKeys: string[];
}

/** One merge, ready to send: the PATCH that applies it and the PATCH that undoes it. */
export interface MetadataMergePlan {
  keys: MergedMetadataKeys;
  /** Changed top-level keys with their whole merged values (Auth0 merges only the top level). */
  update: WireUserUpdate;
  /** Changed keys back to the primary's old values, added keys `null`; never an empty object. */
  restore: WireUserUpdate;
}

const isPlainObject = (value: unknown): value is Metadata =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// Entries, not assignment: a "__proto__" key from Auth0's JSON must stay data.
const fromEntries = (entries: [string, unknown][]): Metadata => Object.fromEntries(entries);

/**
 * Deep merge with the primary winning, as Auth0's account-linking sample does: a key only the
 * secondary has is added, two plain objects are merged key by key, anything else (arrays, scalars,
 * `null`) keeps the primary's value. `changed` says whether the primary's value differs.
 */
function mergeValue(primary: unknown, secondary: unknown): { value: unknown; changed: boolean } {
  if (!isPlainObject(primary) || !isPlainObject(secondary)) return { value: primary, changed: false };
  // Built only on the first change; a Map keeps the primary's key order and replaces a key in
  // place, so each colliding key costs O(1), not a scan of the entries (review L11).
  let merged: Map<string, unknown> | null = null;
  for (const [key, theirs] of Object.entries(secondary)) {
    if (!Object.hasOwn(primary, key)) {
      (merged ??= new Map(Object.entries(primary))).set(key, theirs);
      continue;
    }
    const inner = mergeValue(primary[key], theirs);
    if (inner.changed) (merged ??= new Map(Object.entries(primary))).set(key, inner.value);
  }
  return merged ? { value: fromEntries([...merged]), changed: true } : { value: primary, changed: false };
}

function planKind(primary: Metadata | undefined, secondary: Metadata | undefined) {
  const mine = isPlainObject(primary) ? primary : {};
  const update: [string, unknown][] = [];
  const restore: [string, unknown][] = [];
  for (const [key, theirs] of Object.entries(isPlainObject(secondary) ? secondary : {})) {
    const had = Object.hasOwn(mine, key);
    const merged = had ? mergeValue(mine[key], theirs) : { value: theirs, changed: true };
    if (!merged.changed) continue;
    update.push([key, merged.value]);
    restore.push([key, had ? mine[key] : null]);
  }
  return { keys: update.map(([key]) => key), update, restore };
}

/**
 * What merging the secondary's metadata into the primary's changes, for the kinds asked (jwt mode:
 * `user_metadata` only; admin mode: both). Kinds without a change are left out of both PATCH
 * bodies, so neither ever carries `{}` (which would wipe the object at Auth0).
 */
export function planMetadataMerge(
  primary: WireUser,
  secondary: WireUser,
  kinds: readonly MetadataKind[],
): MetadataMergePlan {
  const plan: MetadataMergePlan = {
    keys: { userMetadataKeys: [], appMetadataKeys: [] },
    update: {},
    restore: {},
  };
  for (const kind of kinds) {
    const { keys, update, restore } = planKind(primary[kind], secondary[kind]);
    if (keys.length === 0) continue;
    plan.keys[kind === 'user_metadata' ? 'userMetadataKeys' : 'appMetadataKeys'] = keys;
    plan.update[kind] = fromEntries(update);
    plan.restore[kind] = fromEntries(restore);
  }
  return plan;
}

/** Whether a plan changes anything at all (no PATCH is sent otherwise). */
export function hasChanges(plan: MetadataMergePlan): boolean {
  return plan.keys.userMetadataKeys.length > 0 || plan.keys.appMetadataKeys.length > 0;
}

/**
 * The part of `plan.restore` still worth sending to `current` (the primary as read now): only the
 * keys whose value is still the one the merge wrote, so a restore never undoes anyone else's
 * change (DESIGN §2). `null` when no key is left.
 */
export function restoreStillOurs(plan: MetadataMergePlan, current: WireUser): WireUserUpdate | null {
  const restore: WireUserUpdate = {};
  for (const kind of ['user_metadata', 'app_metadata'] as const) {
    const written = plan.update[kind];
    const before = plan.restore[kind];
    if (!written || !before) continue;
    const now = isPlainObject(current[kind]) ? (current[kind] as Metadata) : {};
    const entries = Object.entries(before).filter(
      ([key]) => Object.hasOwn(now, key) && isDeepStrictEqual(now[key], written[key]),
    );
    if (entries.length > 0) restore[kind] = fromEntries(entries);
  }
  return Object.keys(restore).length > 0 ? restore : null;
}
