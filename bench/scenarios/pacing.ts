// Learned pacing from a cold start (issue 17): one fresh gateway process, 200 admin links from 30
// clients against a tenant limited to 20/s with a burst of 10, the budget learned from Auth0's
// x-ratelimit-* headers (in memory, and in a Redis bucket) and, for reference, configured.
import { classifyGraphQL, runLoad } from '../load.js';
import { startGatewayProcess } from '../processes.js';
import { countsText, fixed, formatTable } from '../report.js';
import { linkRequest } from '../tenant.js';
import { startRedisServer, type RedisServer } from '../../test/support/redis-server.js';
import type { BenchContext, Scenario, Target } from './scenario.js';

const LINKS = 200;
const CLIENTS = 30;
const LIMIT = { perSecond: 20, burst: 10 };
const IDEAL_SECONDS = (LINKS - LIMIT.burst) / LIMIT.perSecond;

interface PacingRow {
  label: string;
  learned: boolean;
  successes: number;
  failures: Record<string, number>;
  elapsedMs: number;
  rateLimited: number;
  calls: number;
}

async function measure(
  ctx: BenchContext,
  label: string,
  env: Record<string, string>,
  redis?: RedisServer,
): Promise<PacingRow> {
  const { emulator } = ctx;
  const tokens = await ctx.tokens();
  await emulator.reset();
  await emulator.setRateLimit(LIMIT);
  const gatewayEnv = {
    ADMIN_LINK_POLICY: 'trust',
    AUTH0_MAX_WAIT_MS: '60000',
    ...(redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `pacing-${Date.now()}:` } : {}),
    ...env,
  };
  try {
    // A fresh process: nothing learned yet (readiness fetched the token, no Management API call).
    return await ctx.withServer(startGatewayProcess(emulator.origin, gatewayEnv), async (gateway) => {
      await emulator.clearJournal();
      const build = linkRequest('gateway', tokens, 'admin');
      const result = await runLoad({
        url: gateway.url,
        concurrency: CLIENTS,
        count: LINKS,
        build: (i) => build(i),
        classify: classifyGraphQL,
      });
      const statuses = await emulator.linkStatuses();
      const row: PacingRow = {
        label,
        learned: env.AUTH0_RATE_LIMIT === undefined,
        successes: result.successes,
        failures: result.failures,
        elapsedMs: result.elapsedMs,
        rateLimited: statuses.byStatus['429'] ?? 0,
        calls: statuses.total,
      };
      ctx.log(`pacing, ${label}: ${fixed(result.elapsedMs / 1000)} s, ${row.rateLimited} × 429`);
      return row;
    });
  } finally {
    await emulator.setRateLimit(false);
  }
}

function targetsOf(row: PacingRow): Target[] {
  const ratio = row.elapsedMs / 1000 / IDEAL_SECONDS;
  const failed = LINKS - row.successes;
  const targets: Target[] = [
    { text: `pacing, ${row.label}: no failed link`, figure: `${failed} failed`, met: failed === 0 },
  ];
  if (!row.learned) return targets;
  return [
    ...targets,
    {
      text: `pacing, ${row.label}: total ≤ 1.1× ${fixed(IDEAL_SECONDS, 1)} s`,
      figure: `${fixed(ratio)}×`,
      met: ratio <= 1.1,
    },
    {
      text: `pacing, ${row.label}: at most 3 × 429`,
      figure: `${row.rateLimited} × 429`,
      met: row.rateLimited <= 3,
    },
  ];
}

async function run(ctx: BenchContext) {
  const redis = await startRedisServer();
  const rows: PacingRow[] = [];
  try {
    rows.push(await measure(ctx, 'learned, in memory', {}));
    rows.push(await measure(ctx, 'learned, Redis bucket', {}, redis));
    rows.push(await measure(ctx, 'AUTH0_RATE_LIMIT=20/10', { AUTH0_RATE_LIMIT: '20/10' }));
  } finally {
    await redis.stop();
  }
  const table = formatTable(
    [
      `one fresh gateway: ${LINKS} admin links, ${CLIENTS} clients, Auth0 at ${LIMIT.perSecond}/s burst ${LIMIT.burst}`,
      'ok',
      'failed (by code)',
      'Auth0 link calls',
      '429s sent',
      'total s',
      'ideal s',
      'vs ideal',
    ],
    rows.map((r) => [
      r.label,
      String(r.successes),
      countsText(r.failures),
      String(r.calls),
      String(r.rateLimited),
      fixed(r.elapsedMs / 1000),
      fixed(IDEAL_SECONDS, 1),
      `${fixed(r.elapsedMs / 1000 / IDEAL_SECONDS)}×`,
    ]),
  );
  return { lines: [table], targets: rows.flatMap(targetsOf) };
}

export const pacing: Scenario = { name: 'pacing', run };
