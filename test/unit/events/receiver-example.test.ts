import { readFileSync } from 'node:fs';

describe('docs/events.md', () => {
  it('shows examples/webhook-receiver.ts verbatim, the receiver the webhook tests run', () => {
    const example = readFileSync('examples/webhook-receiver.ts', 'utf8');
    expect(readFileSync('docs/events.md', 'utf8')).toContain('```ts\n' + example + '```');
  });
});
