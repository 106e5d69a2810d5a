import { BadUserInputError } from '../errors.js';

/**
 * Longest value accepted as one path segment. Auth0 user ids are far shorter in practice
 * (provider names and social ids are tens of characters; custom-database ids may add a
 * connection prefix), so 512 leaves room for those while keeping URLs and logs bounded.
 */
export const MAX_PATH_SEGMENT_LENGTH = 512;

// C0, DEL and C1: none of them belongs in a URL, a log line or an error message.
const CONTROL_CHARACTERS = /\p{Cc}/u;
// With the `u` flag a paired surrogate is one astral code point, so only lone halves match:
// exactly what `encodeURIComponent` refuses (URIError) and what no URL can carry.
const LONE_SURROGATE = /\p{Cs}/u;
const EXCERPT_LENGTH = 32;

/** A short, printable excerpt of untrusted input for an error message. */
function excerpt(value: string): string {
  const printable = value.replace(/[\p{Cc}\p{Cs}]/gu, '?');
  return printable.length > EXCERPT_LENGTH ? `${printable.slice(0, EXCERPT_LENGTH)}…` : printable;
}

/**
 * The one check every id argument goes through (DESIGN §8), directly or via {@link parseUserId}:
 * `value` can safely become one URL path segment: non-empty, at most
 * {@link MAX_PATH_SEGMENT_LENGTH} characters, well-formed UTF-16 (no lone surrogate), no control
 * characters, and not `.` or `..` (URL parsers resolve those even when percent-encoded). Throws
 * BadUserInputError naming `argumentName`; returns the value unchanged.
 */
export function assertPathSegment(value: string, argumentName: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new BadUserInputError(`\`${argumentName}\` must not be empty.`);
  }
  if (value.length > MAX_PATH_SEGMENT_LENGTH) {
    throw new BadUserInputError(
      `\`${argumentName}\` is too long (${value.length} characters; at most ${MAX_PATH_SEGMENT_LENGTH}).`,
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw new BadUserInputError(
      `\`${argumentName}\` must be well-formed Unicode (it holds a lone UTF-16 surrogate).`,
    );
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new BadUserInputError(`\`${argumentName}\` must not contain control characters.`);
  }
  if (value === '.' || value === '..') {
    throw new BadUserInputError(`\`${argumentName}\` must not be "${value}".`);
  }
  return value;
}

/** {@link assertPathSegment}, then `encodeURIComponent`: `/`, `?`, `#` and `%` stay inside the segment. */
export function encodePathSegment(value: string, argumentName = 'value'): string {
  return encodeURIComponent(assertPathSegment(value, argumentName));
}

/**
 * Splits an Auth0 user id `provider|id` at the first `|` (custom databases may add more:
 * `auth0|Conn|123` → `auth0`, `Conn|123`). Both parts must be non-empty and the whole must be
 * a valid path segment; otherwise BadUserInputError naming `argumentName`.
 */
export function parseUserId(value: string, argumentName: string): { provider: string; id: string } {
  assertPathSegment(value, argumentName);
  const bar = value.indexOf('|');
  if (bar <= 0 || bar === value.length - 1) {
    throw new BadUserInputError(
      `\`${argumentName}\` must be an Auth0 user id such as "auth0|123" (<provider>|<id>), got "${excerpt(value)}".`,
    );
  }
  return { provider: value.slice(0, bar), id: value.slice(bar + 1) };
}
