import { createBoundedLabel, OTHER_LABEL } from '../../../src/observability/bounded-label.js';

describe('createBoundedLabel', () => {
  it('passes the first names it sees, then answers "other" for new ones', () => {
    const label = createBoundedLabel(3);
    expect(['a', 'b', 'a', 'c', 'd', 'e', 'b'].map(label)).toEqual([
      'a',
      'b',
      'a',
      'c',
      OTHER_LABEL,
      OTHER_LABEL,
      'b',
    ]);
  });
});
