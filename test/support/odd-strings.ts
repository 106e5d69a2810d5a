// fast-check arbitraries for id arguments: any UTF-16 string (lone surrogates included), and
// `provider|id` shapes built from the characters that break URLs, logs and parsers.
import fc from 'fast-check';

/** Fixed so a failure reproduces; fast-check prints the seed and the shrunk counterexample. */
export const PROPERTY_SEED = 20260413;

/** Characters that have broken path handling somewhere: separators, dots, escapes, controls, halves. */
const AWKWARD = [
  '|',
  '.',
  '..',
  '/',
  '\\',
  '%',
  '%2e',
  '%2F',
  '?',
  '#',
  '&',
  '=',
  '+',
  ' ',
  '"',
  "'",
  '*',
  ':',
  '(',
  ')',
  '\u0000',
  '\n',
  '\u007f',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\ufffd',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  'é',
  '\u0301',
];

/** One UTF-16 code unit of any value: lone surrogates, controls and noncharacters included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const codePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const awkwardPiece = fc.constantFrom(...AWKWARD);
const piece = fc.oneof(codeUnit, codePoint, awkwardPiece, fc.constantFrom('a', 'Z', '0', '9', '-', '_'));

/** Any string a GraphQL client can send as a String or ID value (JSON escapes lone surrogates). */
export const anyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: piece, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '.', '..', '|', 'auth0|', '|x', 'auth0|.', 'auth0|..') },
  // Around the 512-character bound of one path segment.
  { weight: 1, arbitrary: fc.string({ unit: piece, minLength: 505, maxLength: 520 }) },
);

/** `provider|id` with odd characters on either side, and sometimes more bars. */
export const userIdShaped = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('auth0', 'github', 'google-oauth2', 'samlp'),
      fc.string({ unit: piece, maxLength: 8 }),
    ),
    fc.string({ unit: piece, maxLength: 16 }),
  )
  .map(([provider, id]) => `${provider}|${id}`);

/** What the id-argument properties draw from: arbitrary strings and user-id shapes, half each. */
export const idArgument = fc.oneof(anyString, userIdShaped);

/** True when the string holds a UTF-16 surrogate half without its partner. */
export const hasLoneSurrogate = (value: string): boolean => /\p{Cs}/u.test(value);
