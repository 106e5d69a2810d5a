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
  ['unclear', 'applied', 'applied'],
  ['unclear', 'unchanged', 'not_applied'],
  ['unclear', 'failed', 'unknown'],
];

describe('settleLinkFailure', () => {
  it.each(TABLE)('a %s write whose read-back saw %s settles as %s', (failure, seen, settlement) => {
    expect(settleLinkFailure(failure, seen)).toBe(settlement);
  });

  it('reads back every failure but a plain refusal', () => {
    const failures: WriteFailure[] = ['refused', 'maybe-repeated', 'unclear'];
    expect(failures.filter(needsReadBack)).toEqual(['maybe-repeated', 'unclear']);
  });
});
