// Reads at supergraph scale (issue 17): two replicas sharing one Redis, the tenant at Auth0's
// enterprise limit (16/s, burst 50), 60 users, 30 clients for 12 s, each request either an
// `_entities` batch of 5 ids (what a router sends) or a single `user(id:)`; with the read cache
// and with USER_CACHE_TTL_MS=0, in the same run.
import { classifyGraphQL, runLoad, type BenchRequest, type LoadResult } from '../load.js';
import { startGatewayProcess, type ServerProcess } from '../processes.js';
import { primaryId } from '../protocol.js';
import { countsText, fixed, formatTable, int } from '../report.js';
import { bearer, type Tokens } from '../tenant.js';
import { startRedisServer } from '../../test/support/redis-server.js';
import type { BenchContext, Scenario, Target } from './scenario.js';

const REPLICAS = 2;
const USERS = 60;
const CLIENTS = 30;
const DURATION_MS = 12_000;
const BATCH = 5;
const ENTERPRISE = { perSecond: 16, burst: 50 };
const TTL_MS = 30_000;

const ENTITIES =
  'query E($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email identities { id } } } }';
const USER = 'query U($id: ID!) { user(id: $id) { id email identities { id } } }';

interface SupergraphRow {
  label: string;
  result: LoadResult;
  /** Auth0 reads (GET user, user search) during the load. */
  auth0Reads: number;
}

/** Request `i`: even ones an `_entities` batch of 5 of the 60 users, odd ones a single `user(id:)`. */
function buildRequest(tokens: Tokens, replicas: ServerProcess[]): (i: number) => BenchRequest {
  return (i) => {
    const at = (k: number) => primaryId((i * 7 + k * 13) % USERS);
    const body =
      i % 2 === 0
        ? {
            query: ENTITIES,
            variables: { r: Array.from({ length: BATCH }, (_, k) => ({ __typename: 'User', id: at(k) })) },
          }
        : { query: USER, variables: { id: at(0) } };
    return {
      path: replicas[i % replicas.length].url,
      headers: bearer(tokens.admin),
      body: JSON.stringify(body),
    };
  };
}

async function measure(
  ctx: BenchContext,
  label: string,
  env: Record<string, string>,
): Promise<SupergraphRow> {
  const { emulator } = ctx;
  const tokens = await ctx.tokens();
  await emulator.reset();
  await emulator.setRateLimit(ENTERPRISE);
  const redis = await startRedisServer();
  const replicas: ServerProcess[] = [];
  try {
    const gatewayEnv = { REDIS_URL: redis.url, ...env };
    replicas.push(
      ...(await Promise.all(
        Array.from({ length: REPLICAS }, () => startGatewayProcess(emulator.origin, gatewayEnv)),
      )),
    );
    await emulator.clearJournal();
    const result = await runLoad({
      url: replicas[0].url,
      concurrency: CLIENTS,
      count: 10_000_000,
      durationMs: DURATION_MS,
      build: buildRequest(tokens, replicas),
      classify: classifyGraphQL,
    });
    const routes = await emulator.routeCounts();
    const auth0Reads = (routes['get-user'] ?? 0) + (routes['search-users'] ?? 0);
    ctx.log(`supergraph, ${label}: ${fixed(result.perSecond, 0)} req/s, ${auth0Reads} Auth0 reads`);
    return { label, result, auth0Reads };
  } finally {
    await emulator.setRateLimit(false);
    await Promise.all(replicas.map((replica) => replica.close()));
    await redis.stop();
  }
}

const perThousand = (row: SupergraphRow) => (row.auth0Reads * 1000) / Math.max(1, row.result.count);
const errorsOf = (row: SupergraphRow) => row.result.count - row.result.successes;

function targetsOf(cached: SupergraphRow, uncached: SupergraphRow): Target[] {
  const speedup = cached.result.perSecond / uncached.result.perSecond;
  return [
    {
      text: 'supergraph, read cache: no error',
      figure: `${errorsOf(cached)} errors`,
      met: errorsOf(cached) === 0,
    },
    {
      text: `supergraph, read cache: at most one Auth0 read per user per TTL (${USERS})`,
      figure: `${cached.auth0Reads} reads`,
      met: cached.auth0Reads <= USERS,
    },
    {
      text: 'supergraph, read cache: ≥ 50× the requests/s with USER_CACHE_TTL_MS=0',
      figure: `${fixed(cached.result.perSecond, 0)} vs ${fixed(uncached.result.perSecond, 1)}/s (${fixed(speedup, 0)}×)`,
      met: speedup >= 50,
    },
  ];
}

async function run(ctx: BenchContext) {
  const cached = await measure(ctx, `read cache (USER_CACHE_TTL_MS=${TTL_MS})`, {
    USER_CACHE_TTL_MS: String(TTL_MS),
  });
  const uncached = await measure(ctx, 'USER_CACHE_TTL_MS=0', { USER_CACHE_TTL_MS: '0' });
  const rows = [cached, uncached];
  const table = formatTable(
    [
      `supergraph: ${REPLICAS} replicas + Redis, ${USERS} users, ${CLIENTS} clients × ${DURATION_MS / 1000} s, half _entities of ${BATCH}, half user(id:); Auth0 at ${ENTERPRISE.perSecond}/s burst ${ENTERPRISE.burst}`,
      'requests',
      'req/s',
      'Auth0 reads',
      'per 1,000 requests',
      'errors (by code)',
      'p50 ms',
      'p99 ms',
    ],
    rows.map((r) => [
      r.label,
      String(r.result.count),
      fixed(r.result.perSecond, 1),
      String(r.auth0Reads),
      fixed(perThousand(r), 1),
      errorsOf(r) === 0 ? '-' : countsText(r.result.failures),
      fixed(r.result.p50Ms, 1),
      int(r.result.p99Ms),
    ]),
  );
  return { lines: [table], targets: targetsOf(cached, uncached) };
}

export const supergraph: Scenario = { name: 'supergraph', run };
