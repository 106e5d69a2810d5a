import fc from 'fast-check';
import { BadUserInputError } from '../../../src/errors.js';
import {
  assertPathSegment,
  encodePathSegment,
  MAX_PATH_SEGMENT_LENGTH,
  parseUserId,
} from '../../../src/auth0/user-id.js';
import { hasLoneSurrogate, idArgument, PROPERTY_SEED } from '../../support/odd-strings.js';

function refusal(run: () => unknown): BadUserInputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BadUserInputError);
    return error as BadUserInputError;
  }
  throw new Error('expected a BadUserInputError');
}

describe('parseUserId', () => {
  it.each([
    ['auth0|abc', 'auth0', 'abc'],
    ['google-oauth2|1080', 'google-oauth2', '1080'],
    ['github|123', 'github', '123'],
    ['auth0|Conn|123', 'auth0', 'Conn|123'],
  ])('splits %s at the first bar', (value, provider, id) => {
    expect(parseUserId(value, 'primaryId')).toEqual({ provider, id });
  });

  it.each(['abc', '|abc', 'auth0|', '|', ''])('refuses %j as BAD_USER_INPUT naming the argument', (value) => {
    const error = refusal(() => parseUserId(value, 'primaryId'));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('primaryId');
  });

  it('never echoes more than a short excerpt of the input', () => {
    const long = 'x'.repeat(400);
    const error = refusal(() => parseUserId(long, 'primaryId'));
    expect(error.message.length).toBeLessThan(200);
  });

  it('refuses control characters without echoing them', () => {
    const error = refusal(() => parseUserId('auth0|a\u0000b\nc', 'primaryId'));
    // eslint-disable-next-line no-control-regex
    expect(error.message).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('assertPathSegment', () => {
  it.each([
    ['empty', ''],
    ['dot', '.'],
    ['dot-dot', '..'],
    ['NUL', 'a\u0000'],
    ['newline', 'a\nb'],
    ['DEL', 'a\u007f'],
    ['C1 control (NEL)', 'a\u0085b'],
    ['lone high surrogate', 'auth0|x\ud800y'],
    ['lone low surrogate', 'auth0|x\udc00y'],
    ['surrogate pair in the wrong order', 'auth0|\ude00\ud83d'],
    ['high surrogate at the end', 'auth0|x\ud83d'],
    ['over-long', 'a'.repeat(MAX_PATH_SEGMENT_LENGTH + 1)],
  ])('refuses %s', (_name, value) => {
    const error = refusal(() => assertPathSegment(value, 'provider'));
    expect(error.message).toContain('provider');
    // eslint-disable-next-line no-control-regex
    expect(error.message).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(error.message.length).toBeLessThan(200);
  });

  it('accepts a value at the length bound', () => {
    const value = 'a'.repeat(MAX_PATH_SEGMENT_LENGTH);
    expect(assertPathSegment(value, 'userId')).toBe(value);
  });

  it('names the lone surrogate as the reason, without echoing it', () => {
    const error = refusal(() => assertPathSegment('auth0|x\ud800y', 'primaryId'));
    expect(error.message).toBe('`primaryId` must be well-formed Unicode (it holds a lone UTF-16 surrogate).');
  });

  it.each([
    ['an astral character (paired surrogates)', 'auth0|\ud83d\ude00'],
    ['a noncharacter', 'auth0|\uffff'],
    ['a line separator', 'auth0|a\u2028b'],
  ])('accepts %s, which encodes', (_name, value) => {
    expect(assertPathSegment(value, 'userId')).toBe(value);
    expect(decodeURIComponent(encodePathSegment(value, 'userId'))).toBe(value);
  });

  it.each(['...', '.a', '%2e%2e', 'a.b'])('accepts %j, which is no dot segment', (value) => {
    expect(assertPathSegment(value, 'userId')).toBe(value);
  });
});

describe('encodePathSegment', () => {
  it.each([
    ['auth0|abc', 'auth0%7Cabc'],
    ['auth0|a/b', 'auth0%7Ca%2Fb'],
    ['auth0|a?b=c', 'auth0%7Ca%3Fb%3Dc'],
    ['auth0|a#b', 'auth0%7Ca%23b'],
    ['auth0|a%2Fb', 'auth0%7Ca%252Fb'],
    ['%2e%2e', '%252e%252e'],
  ])('keeps %j as one encoded segment', (value, encoded) => {
    expect(encodePathSegment(value, 'primaryId')).toBe(encoded);
    expect(encoded).not.toMatch(/[/?#]/);
    expect(decodeURIComponent(encoded)).toBe(value);
  });

  it('validates before encoding', () => {
    expect(() => encodePathSegment('..', 'provider')).toThrow(BadUserInputError);
  });
});

// Each branch of the properties below must run at least this often out of 2000 generated values.
const MIN_BRANCH_RUNS = 200;

describe('every string either is one safe path segment or is BAD_USER_INPUT (property)', () => {
  // How many generated values took each branch: the property means nothing if one never ran.
  const tally = { accepted: 0, refused: 0 };
  beforeEach(() => Object.assign(tally, { accepted: 0, refused: 0 }));
  afterEach(() => {
    expect(tally.accepted).toBeGreaterThanOrEqual(MIN_BRANCH_RUNS);
    expect(tally.refused).toBeGreaterThanOrEqual(MIN_BRANCH_RUNS);
  });

  const checkedOrRefused = (check: (value: string) => unknown) => (value: string) => {
    let accepted = true;
    try {
      check(value);
    } catch (error) {
      expect(error).toBeInstanceOf(BadUserInputError);
      expect((error as BadUserInputError).message).toContain('`arg`');
      accepted = false;
    }
    if (!accepted) {
      tally.refused += 1;
      return;
    }
    tally.accepted += 1;
    // What an accepted value must be: encodable, one segment, round-tripping, no dot segment.
    expect(hasLoneSurrogate(value)).toBe(false);
    const encoded = encodePathSegment(value, 'arg');
    expect(encoded).not.toMatch(/[/?#]/);
    expect(decodeURIComponent(encoded)).toBe(value);
    expect(['', '.', '..']).not.toContain(value);
    expect(value.length).toBeLessThanOrEqual(MAX_PATH_SEGMENT_LENGTH);
  };

  it('assertPathSegment never lets through what encodeURIComponent rejects', () => {
    fc.assert(
      fc.property(
        idArgument,
        checkedOrRefused((v) => assertPathSegment(v, 'arg')),
      ),
      {
        seed: PROPERTY_SEED,
        numRuns: 2000,
      },
    );
  });

  it('parseUserId refuses or splits into two non-empty parts of a safe segment', () => {
    fc.assert(
      fc.property(idArgument, (value) => {
        checkedOrRefused((v) => parseUserId(v, 'arg'))(value);
        let parts: { provider: string; id: string } | undefined;
        try {
          parts = parseUserId(value, 'arg');
        } catch {
          return;
        }
        expect(`${parts.provider}|${parts.id}`).toBe(value);
        expect(parts.provider).not.toBe('');
        expect(parts.id).not.toBe('');
      }),
      { seed: PROPERTY_SEED, numRuns: 2000 },
    );
  });
});
