import {
  needsReadBack,
  settleLinkFailure,
  type ReadBackSeen,
  type Settlement,
  type WriteFailure,
} from '../../../src/accounts/settle-failure.js';

// Every row of the decision: how the write failed × what the read-back saw.
const TABLE: [WriteFailure, ReadBackSeen | null, Settlement][] = [
  ['refused', null, 'refused'],
  ['maybe-repeated', 'applied', 'applied'],
  ['maybe-repeated', 'unchanged', 'refused'],
  ['maybe-repeated', 'failed', 'refused'],
  ['answered-unclear', 'applied', 'applied'],
  ['answered-unclear', 'unchanged', 'not_applied'],
  ['answered-unclear', 'failed', 'unknown'],
  // Auth0 may still apply it after the read (review H1): unchanged proves nothing.
  ['unanswered', 'applied', 'applied'],
  ['unanswered', 'unchanged', 'unknown'],
  ['unanswered', 'failed', 'unknown'],
];

describe('settleLinkFailure', () => {
  it.each(TABLE)('a %s write whose read-back saw %s settles as %s', (failure, seen, settlement) => {
    expect(settleLinkFailure(failure, seen)).toBe(settlement);
  });

  it('reads back every failure but a plain refusal', () => {
    const failures: WriteFailure[] = ['refused', 'maybe-repeated', 'answered-unclear', 'unanswered'];
    expect(failures.filter(needsReadBack)).toEqual(['maybe-repeated', 'answered-unclear', 'unanswered']);
  });
});
