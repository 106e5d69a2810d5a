import { Options } from 'got';

// got 14 builds the options of every outgoing request (`createNativeRequestOptions`) as one
// object literal that starts with `...cacheOptions` and then names about 35 options. On Node 20's
// V8, every property added to an object made by spreading a non-empty object takes a slow path:
// that one call cost about 33 µs, several percent of a link's CPU (docs/benchmark.md). Spreading
// an empty object does not, so got builds the object from an empty `cacheOptions`, and its four
// keys (HTTP cache settings, none of which got names itself) are added afterwards.
//
// Most of those options are TLS and connection settings got leaves undefined, and Node copies the
// whole object three times per request: `http.request` assigns it onto the URL's options, then
// copies it into a null-prototype object (a dictionary, slow to fill), and the agent copies it
// again with its own options. With the undefined ones left out those copies hold about 8 keys
// instead of 40: under the profiler they went from 35 to 15 µs per Auth0 call. Node reads every
// option as `options.x`, so an absent key is the same to it as an undefined one, except where
// `tls.connect` fills defaults by spreading the options over them: there an undefined
// `rejectUnauthorized` or `ciphers` replaces the default, so the keys it defaults are kept as got
// gives them.
//
// This ties the build to got's internals (`Options.prototype.createNativeRequestOptions` and
// `_internals.cacheOptions`, as in got 14.6.6, pinned exactly in package.json). Any change of the
// got version — a patch release included, a lockfile refresh that moves it, `npm update` or a
// Dependabot bump — must re-run `npm run test:jest -- test/unit/auth0/got-native-options.test.ts`,
// which compares these options with got's own output; so must a Node major upgrade (the
// `tls.connect` defaults below). If got renames either internal or builds other options, the
// patched builder throws or differs from got's own and that test fails: fix or drop the patch
// (it saves about 20 µs per call) before shipping the upgrade.

interface OptionsInternals {
  _internals: { cacheOptions: Record<string, unknown> };
}

/** The options `tls.connect` defaults with `{ rejectUnauthorized, ciphers, checkServerIdentity, minDHSize, ...options }`. */
const TLS_DEFAULTED = new Set(['rejectUnauthorized', 'ciphers', 'checkServerIdentity', 'minDHSize']);

const EMPTY: Record<string, unknown> = Object.freeze({});
let installed = false;

/** Makes got's per-request option building cheap; idempotent, for the whole process. */
export function installFastNativeRequestOptions(): void {
  if (installed) return;
  installed = true;
  const build = Options.prototype.createNativeRequestOptions;
  Options.prototype.createNativeRequestOptions = function createNativeRequestOptions(this: Options) {
    const internals = (this as unknown as OptionsInternals)._internals;
    const cacheOptions = internals.cacheOptions;
    internals.cacheOptions = EMPTY;
    let native: ReturnType<typeof build>;
    try {
      native = build.call(this);
    } finally {
      internals.cacheOptions = cacheOptions;
    }
    const named = native as Record<string, unknown>;
    const lean: Record<string, unknown> = {};
    for (const key of Object.keys(named)) {
      const value = named[key];
      if (value !== undefined || TLS_DEFAULTED.has(key)) lean[key] = value;
    }
    // In got's own literal a named option wins over a cache setting of the same key.
    for (const key of Object.keys(cacheOptions)) {
      const value = cacheOptions[key];
      if (value !== undefined && !(key in named)) lean[key] = value;
    }
    return lean as typeof native;
  };
}
