import { Options } from 'got';

// got 14 builds the options of every outgoing request (`createNativeRequestOptions`) as one
// object literal that starts with `...cacheOptions` and then names about 35 options. On Node 20's
// V8, every property added to an object made by spreading a non-empty object takes a slow path:
// that one call cost about 33 µs, several percent of a link's CPU (docs/benchmark.md). Spreading
// an empty object does not, so got builds the object from an empty `cacheOptions`, and its four
// keys (HTTP cache settings, none of which got names itself) are added afterwards: the same keys
// and values.

interface OptionsInternals {
  _internals: { cacheOptions: Record<string, unknown> };
}

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
    const target = native as Record<string, unknown>;
    // In got's own literal a named option wins over a cache setting of the same key.
    for (const key of Object.keys(cacheOptions)) if (!(key in target)) target[key] = cacheOptions[key];
    return native;
  };
}
