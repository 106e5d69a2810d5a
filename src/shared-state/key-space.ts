// Every Redis key the service writes is named here, and here only (DESIGN §10).
//
// A Redis Cluster places a key by its hash tag, the text between the first `{` and the next `}`:
// keys used together by one script, transaction or pipeline must share one, and keys that are not
// should not, so that they spread over the shards. Hence two kinds of names:
//
//   <REDIS_KEY_PREFIX>{<tenant tag>}:<name>              the tenant's own state, used together:
//                                                       service token and its lease, outbox stream,
//                                                       its consumer group, dead letters, attempts
//                                                       and delivery lease, records, pending checks
//   <REDIS_KEY_PREFIX>{<origin tag>}:<name>              the Auth0 tenant's rate budget and replica
//                                                       count (every client of the tenant spends it)
//   <REDIS_KEY_PREFIX><tenant tag>:<kind>:{<own tag>}:…  one per user or caller, spread over the
//                                                       shards: a read-cache entry with its
//                                                       dependents and change mark, a primary's
//                                                       writer lock with its fencing counter, a
//                                                       caller's limit
//
// A prefix that itself holds a `{…}` puts every key in one slot: it still works, without spreading.

/** Names of one tenant's keys. */
export interface KeySpace {
  /** `<prefix>{<tenant tag>}:<parts…>`: the tenant's keys that scripts and transactions use together. */
  tenant(...parts: string[]): string;
  /** `<prefix>{<origin tag>}:<parts…>`: the Auth0 tenant's rate budget and replica count. */
  budget(...parts: string[]): string;
  /** `<prefix><tenant tag>:<kind>:{<tag>}<:rest…>`: keys of one user or caller, on a slot of their own. */
  spread(kind: string, tag: string, ...rest: string[]): string;
  /** `<prefix><tenant tag>:<kind>:`: a pub/sub channel or a prefix another library adds to. */
  plain(...parts: string[]): string;
}

/**
 * `prefix` is REDIS_KEY_PREFIX; `tenantTag` the tag of the tenant and client (tenant-key.ts);
 * `originTag` the tag of the Auth0 tenant alone (default `tenantTag`).
 */
export function createKeySpace(prefix: string, tenantTag: string, originTag = tenantTag): KeySpace {
  const join = (parts: string[]) => parts.join(':');
  return {
    tenant: (...parts) => `${prefix}{${tenantTag}}:${join(parts)}`,
    budget: (...parts) => `${prefix}{${originTag}}:${join(parts)}`,
    spread: (kind, tag, ...rest) =>
      `${prefix}${tenantTag}:${kind}:{${tag}}${rest.length > 0 ? `:${join(rest)}` : ''}`,
    plain: (...parts) => `${prefix}${tenantTag}:${join(parts)}`,
  };
}
