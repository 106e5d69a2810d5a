// The TLS helper's own promises: only TLS with the test CA reaches the server, and the ACL user may
// run its commands on its key prefix and nothing else.
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { redisCommand } from '../../support/redis-cluster.js';
import { startTlsRedis, type TlsRedis } from '../../support/redis-tls.js';

const tempDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('redis-tls-'));

describe('startTlsRedis (test/support/redis-tls.ts)', () => {
  let redis: TlsRedis;
  let client: Redis;

  beforeAll(async () => {
    const began = Date.now();
    redis = await startTlsRedis({
      aclUser: {
        name: 'gateway',
        password: 'tls-self-test-password',
        commands: ['get', 'set', '+ping'],
        keyPrefix: 'gw:',
      },
    });
    console.log(`redis tls: certificates made and server up in ${Date.now() - began} ms`);
    // No ready check: it sends INFO, which this user may not run (a user of the service needs
    // `info` in its commands, or a client without the check).
    client = new Redis(redis.url, {
      tls: { ca: redis.caCert },
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
    });
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('gives a rediss:// URL with the ACL user, and the CA that signed the server certificate', () => {
    expect(redis.url).toBe(`rediss://gateway:tls-self-test-password@127.0.0.1:${redis.port}`);
    expect(redis.address).toBe(`rediss://127.0.0.1:${redis.port}`);
    expect(redis.caCert).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('lets the ACL user run its commands on its prefix, and refuses the rest', async () => {
    await client.set('gw:key', 'over TLS');
    expect(await client.get('gw:key')).toBe('over TLS');
    await expect(client.get('other:key')).rejects.toThrow(/NOPERM/);
    await expect(client.del('gw:key')).rejects.toThrow(/NOPERM/);
    await expect(client.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
  });

  it('accepts the admin user for everything, the default user for nothing', async () => {
    await expect(redisCommand(redis.port, ['SET', 'any:key', 'x'], redis.admin)).resolves.toBe('OK');
    await expect(redisCommand(redis.port, ['DEL', 'any:key'], redis.admin)).resolves.toBe(1);
    await expect(redisCommand(redis.port, ['PING'], { tls: redis.admin.tls })).rejects.toThrow(/NOAUTH/);
  });

  it('refuses plain TCP, and TLS from a client that does not trust the test CA', async () => {
    await expect(redisCommand(redis.port, ['PING'], { password: redis.admin.password })).rejects.toThrow(
      /ECONNRESET|EPIPE|Connection is closed/,
    );
    await expect(redisCommand(redis.port, ['PING'], { ...redis.admin, tls: {} })).rejects.toThrow(
      /self[- ]signed|unable to (get|verify)/i,
    );
  });

  it('fails a start with a rule redis-server refuses in one message without the password, leaving no files', async () => {
    const before = tempDirs();
    // Refused while redis-server reads its configuration: it prints the whole `user` line.
    const started = startTlsRedis({
      aclUser: { name: 'gateway', password: 'not-in-errors', commands: ['(bad'] },
    });
    const error = (await started.catch((failure: Error) => failure)) as Error;
    expect(error.message).toMatch(/FATAL CONFIG FILE ERROR[\s\S]*user "gateway" "on" ">\*\*\*"/);
    expect(error.message).not.toContain('not-in-errors');
    expect(tempDirs()).toEqual(before);
  });
});
