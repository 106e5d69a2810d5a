// The dedupe job beside a serving gateway (DESIGN §16): on one Redis they share the tenant's
// budget, so against Auth0's enterprise limit neither meets a 429 and the gateway keeps linking.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEMO, DEMO_SEED, startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import type { DedupeReport } from '../../src/dedupe/apply.js';
import { adminLink } from '../support/account-mutations.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { loopbackOnlyEnv } from '../support/network-guard.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const CLI = resolve('dist/src/dedupe/cli.js');
// Auth0's enterprise Management API limit, as the emulator's `enterprise` plan answers it.
const BUDGET = '16/50';
// 6 Management API calls a pair with the undo window on (the default): 120 calls for the job
// and about 40 for the gateway, well past the burst of 50, about 7 s at 16/s.
const JOB_PAIRS = 20;
const GATEWAY_PAIRS = 8;

let emulator: Auth0Emulator;
let redis: RedisServer;
let gateway: GatewayProcess;

beforeAll(async () => {
  emulator = await startAuth0Emulator({
    port: 0,
    plan: 'enterprise',
    seed: { clients: DEMO_SEED.clients, client_grants: DEMO_SEED.client_grants, users: [] },
  });
  redis = await startRedisServer();
  gateway = await startGatewayProcess(emulator.origin, {
    REDIS_URL: redis.url,
    AUTH0_RATE_LIMIT: BUDGET,
    ADMIN_LINK_POLICY: 'trust',
  });
});
afterAll(async () => {
  await gateway?.stop();
  await redis?.stop();
  await emulator?.close();
});

function cli(cwd: string, ...args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    stdio: 'ignore',
    env: loopbackOnlyEnv({
      PATH: process.env.PATH ?? '',
      AUTH0_DOMAIN: emulator.origin,
      AUTH0_CLIENT_ID: DEMO.serviceClientId,
      AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
      AUTH0_RATE_LIMIT: BUDGET,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
    }),
  });
  return new Promise((resolveExit) => child.on('close', resolveExit));
}

describe('dedupe apply beside a gateway on the same Redis', () => {
  it('gets no 429 from Auth0 while the gateway keeps answering links', async () => {
    for (let i = 0; i < JOB_PAIRS; i += 1) {
      const email = `dup${i}@example.com`;
      emulator.tenant.addUser({
        user_id: `auth0|dupa${i}`,
        email,
        email_verified: true,
        created_at: '2020-01-01T00:00:00Z',
      });
      emulator.tenant.addUser({
        user_id: `github|dupb${i}`,
        email,
        email_verified: true,
        created_at: '2021-01-01T00:00:00Z',
      });
    }
    const dir = mkdtempSync(join(tmpdir(), 'dedupe-budget-'));
    expect(await cli(dir, 'plan', '--out', 'plan.json')).toBe(0);
    // Users the gateway links: no duplicates by email, so not in the plan.
    for (let i = 0; i < GATEWAY_PAIRS; i += 1) {
      emulator.tenant.addUser({
        user_id: `auth0|live${i}`,
        email: `live${i}@example.com`,
        email_verified: true,
      });
      emulator.tenant.addUser({
        user_id: `github|live${i}`,
        email: `other${i}@example.com`,
        email_verified: true,
      });
    }

    const applying = cli(dir, 'apply', 'plan.json');
    // The gateway's links go while the job is under way.
    const started = Date.now();
    while (emulator.journal.count('link') < 5) {
      if (Date.now() - started > 20_000) throw new Error('the job sent no links');
      await new Promise((r) => setTimeout(r, 20));
    }
    const token = await emulator.tokens.adminToken({ scope: 'update:users' });
    const answers = await Promise.all(
      Array.from({ length: GATEWAY_PAIRS }, (_, i) =>
        adminLink(gateway.url, token, `auth0|live${i}`, `github|live${i}`),
      ),
    );
    expect(await applying).toBe(0);

    expect(answers.map((a) => a.code ?? 'ok')).toEqual(answers.map(() => 'ok'));
    const report = JSON.parse(readFileSync(join(dir, 'dedupe-report.json'), 'utf8')) as DedupeReport;
    expect(report.totals).toEqual({ pairs: JOB_PAIRS, linked: JOB_PAIRS, skipped: 0, failed: 0, pending: 0 });
    // Every Management API answer of the run, the job's and the gateway's: none was a 429.
    const statuses = emulator.journal
      .entries()
      .filter((e) => e.path.startsWith('/api/v2/'))
      .map((e) => e.status);
    expect(statuses.length).toBeGreaterThan(3 * JOB_PAIRS);
    expect(statuses.filter((s) => s === 429)).toEqual([]);
    expect(emulator.journal.count('link')).toBe(JOB_PAIRS + GATEWAY_PAIRS);
  });
});
