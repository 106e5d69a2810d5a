// Three replicas sharing one Redis (issue 9): three gateway processes against one tenant limited
// to 20 links/s (burst 10), 300 admin links from 30 clients spread over them, with the budget
// configured and learned. Token requests are counted from the replicas' start (readiness included).
import { classifyGraphQL, runLoad, type LoadResult } from '../load.js';
import { startGatewayProcess, type ServerProcess } from '../processes.js';
import { countsText, fixed, formatTable } from '../report.js';
import { linkRequest } from '../tenant.js';
// The tests' launcher: Debian's redis-server on a free loopback port, saving nothing.
import { startRedisServer } from '../../test/support/redis-server.js';
import type { BenchContext, Scenario, Target } from './scenario.js';

const REPLICAS = 3;
const CLIENTS = 30;
const LINKS = 300;
const LIMIT = { perSecond: 20, burst: 10 };
const IDEAL_SECONDS = (LINKS - LIMIT.burst) / LIMIT.perSecond;

interface ReplicasRow {
  label: string;
  /** Issue 9's bounds: total time as a multiple of the ideal, 429s (none while learning). */
  maxRatio: number;
  max429: number | null;
  successes: number;
  failures: Record<string, number>;
  elapsedMs: number;
  rateLimited: number;
  tokenRequests: number;
}

async function measure(
  ctx: BenchContext,
  label: string,
  bounds: { maxRatio: number; max429: number | null },
  env: Record<string, string>,
): Promise<ReplicasRow> {
  const { emulator } = ctx;
  const tokens = await ctx.tokens();
  await emulator.reset();
  await emulator.setRateLimit(LIMIT);
  const redis = await startRedisServer();
  const replicas: ServerProcess[] = [];
  try {
    const gatewayEnv = { REDIS_URL: redis.url, ADMIN_LINK_POLICY: 'trust', ...env };
    replicas.push(
      ...(await Promise.all(
        Array.from({ length: REPLICAS }, () => startGatewayProcess(emulator.origin, gatewayEnv)),
      )),
    );
    const link = linkRequest('gateway', tokens, 'admin');
    const perReplica = LINKS / REPLICAS;
    const started = Date.now();
    // Ten clients on each replica, each link on a fresh secondary.
    const results: LoadResult[] = await Promise.all(
      replicas.map((replica, r) =>
        runLoad({
          url: replica.url,
          concurrency: CLIENTS / REPLICAS,
          count: perReplica,
          build: (i) => link(r * perReplica + i),
          classify: classifyGraphQL,
        }),
      ),
    );
    const elapsedMs = Date.now() - started;
    const failures: Record<string, number> = {};
    for (const result of results) {
      for (const [code, count] of Object.entries(result.failures))
        failures[code] = (failures[code] ?? 0) + count;
    }
    const statuses = await emulator.linkStatuses();
    const routes = await emulator.routeCounts();
    const row: ReplicasRow = {
      label,
      ...bounds,
      successes: results.reduce((sum, r) => sum + r.successes, 0),
      failures,
      elapsedMs,
      rateLimited: statuses.byStatus['429'] ?? 0,
      tokenRequests: routes.token ?? 0,
    };
    ctx.log(`replicas, ${label}: ${fixed(elapsedMs / 1000)} s, ${row.rateLimited} × 429`);
    return row;
  } finally {
    await emulator.setRateLimit(false);
    await Promise.all(replicas.map((replica) => replica.close()));
    await redis.stop();
  }
}

function targetsOf(row: ReplicasRow): Target[] {
  const failed = LINKS - row.successes;
  const ratio = row.elapsedMs / 1000 / IDEAL_SECONDS;
  const targets: Target[] = [
    { text: `replicas, ${row.label}: no failed link`, figure: `${failed} failed`, met: failed === 0 },
  ];
  if (row.max429 !== null) {
    targets.push({
      text: `replicas, ${row.label}: at most ${row.max429} × 429`,
      figure: `${row.rateLimited} × 429`,
      met: row.rateLimited <= row.max429,
    });
  }
  targets.push(
    {
      text: `replicas, ${row.label}: total ≤ ${row.maxRatio}× ${IDEAL_SECONDS} s`,
      figure: `${fixed(ratio)}×`,
      met: ratio <= row.maxRatio,
    },
    {
      text: `replicas, ${row.label}: one token request`,
      figure: String(row.tokenRequests),
      met: row.tokenRequests === 1,
    },
  );
  return targets;
}

async function run(ctx: BenchContext) {
  const rows = [
    await measure(ctx, 'AUTH0_RATE_LIMIT=20/10', { maxRatio: 1.2, max429: 3 }, { AUTH0_RATE_LIMIT: '20/10' }),
    await measure(ctx, 'learned from x-ratelimit-* headers', { maxRatio: 1.3, max429: null }, {}),
  ];
  const table = formatTable(
    [
      `${REPLICAS} replicas + Redis: ${LINKS} admin links, ${CLIENTS} clients, Auth0 at ${LIMIT.perSecond}/s burst ${LIMIT.burst}`,
      'ok',
      'failed (by code)',
      '429s sent',
      'token requests',
      'total s',
      'ideal s',
      'vs ideal',
    ],
    rows.map((r) => [
      r.label,
      String(r.successes),
      countsText(r.failures),
      String(r.rateLimited),
      String(r.tokenRequests),
      fixed(r.elapsedMs / 1000),
      fixed(IDEAL_SECONDS, 1),
      `${fixed(r.elapsedMs / 1000 / IDEAL_SECONDS)}×`,
    ]),
  );
  return { lines: [table], targets: rows.flatMap(targetsOf) };
}

export const replicas: Scenario = { name: 'replicas', run };
