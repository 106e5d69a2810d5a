import { RedisScript } from '../../../src/shared-state/redis-scripts.js';
import type { RedisClient } from '../../../src/shared-state/redis-connection.js';

// A stub client: EVALSHA refused as given, EVAL answering; what was sent is recorded.
function client(evalshaError: Error) {
  const sent: string[] = [];
  const stub = {
    evalsha: async () => {
      sent.push('evalsha');
      throw evalshaError;
    },
    eval: async () => {
      sent.push('eval');
      return 'ran';
    },
  };
  return { sent, client: stub as unknown as RedisClient };
}

describe('RedisScript.run', () => {
  const script = new RedisScript('return 1');

  it('loads the script with EVAL when the server does not know it (NOSCRIPT)', async () => {
    const c = client(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    await expect(script.run(c.client, ['k'], [])).resolves.toBe('ran');
    expect(c.sent).toEqual(['evalsha', 'eval']);
  });

  it('does the same when a cluster in a failover wraps the NOSCRIPT of a promoted replica', async () => {
    const c = client(
      new Error(
        'Too many Cluster redirections. Last error: ReplyError: NOSCRIPT No matching script. Please use EVAL.',
      ),
    );
    await expect(script.run(c.client, ['k'], [])).resolves.toBe('ran');
    expect(c.sent).toEqual(['evalsha', 'eval']);
  });

  it('passes any other error on without running the script again', async () => {
    const c = client(new Error('Too many Cluster redirections. Last error: Error: Connection is closed.'));
    await expect(script.run(c.client, ['k'], [])).rejects.toThrow('Connection is closed');
    expect(c.sent).toEqual(['evalsha']);
  });
});
