// Bench scenario (issue 9): three gateway processes sharing one Redis against one tenant limited
// to 20 links/s (burst 10), 300 admin links from 30 clients spread over them. Hooked into run.ts;
// `node dist/bench/replicas.js` runs it alone.
import { pathToFileURL } from 'node:url';
// The tests' launcher: Debian's redis-server on a free loopback port, saving nothing.
import { startRedisServer } from '../test/support/redis-server.js';
import { classifyGraphQL, runLoad, type LoadResult } from './load.js';
import { EmulatorProcess, startGatewayProcess, type ServerProcess } from './processes.js';
import { primaryId, secondaryId, type BenchTenantShape } from './protocol.js';
import { countsText, fixed, formatTable } from './report.js';

const REPLICAS = 3;
const CLIENTS = 30;
const LINKS = 300;
const LIMIT = { perSecond: 20, burst: 10 };
const IDEAL_SECONDS = (LINKS - LIMIT.burst) / LIMIT.perSecond;
/** Enough bench users for this scenario alone. */
export const REPLICAS_TENANT: BenchTenantShape = { primaries: CLIENTS, secondaries: LINKS };

const LINK = `mutation Link($primaryId: ID!, $input: LinkAccountsInput!) {
  linkAccounts(primaryId: $primaryId, input: $input) { identities { id } }
}`;

export interface ReplicasResult {
  label: string;
  successes: number;
  failures: Record<string, number>;
  elapsedMs: number;
  rateLimited: number;
  tokenRequests: number;
}

/** One run: fresh tenant and Redis, three replicas started (token fetches counted), then the links. */
async function measureOnce(
  emulator: EmulatorProcess,
  label: string,
  env: Record<string, string>,
): Promise<ReplicasResult> {
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
    const admin = await emulator.adminToken('update:users');
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${admin}` };
    const perReplica = LINKS / REPLICAS;
    const started = Date.now();
    // Ten clients on each replica, each link on a fresh secondary.
    const results: LoadResult[] = await Promise.all(
      replicas.map((replica, r) =>
        runLoad({
          url: replica.url,
          concurrency: CLIENTS / REPLICAS,
          count: perReplica,
          build: (i) => {
            const n = r * perReplica + i;
            const secondary = secondaryId(n);
            return {
              headers,
              body: JSON.stringify({
                query: LINK,
                variables: {
                  primaryId: primaryId(n % CLIENTS),
                  input: {
                    admin: { provider: 'auth0', userId: secondary.slice(secondary.indexOf('|') + 1) },
                  },
                },
              }),
            };
          },
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
    await emulator.setRateLimit(false);
    return {
      label,
      successes: results.reduce((sum, r) => sum + r.successes, 0),
      failures,
      elapsedMs,
      rateLimited: statuses.byStatus['429'] ?? 0,
      tokenRequests: routes.token ?? 0,
    };
  } finally {
    await Promise.all(replicas.map((replica) => replica.close()));
    await redis.stop();
  }
}

/** The three-replica rows: a configured budget, then one learned from Auth0's headers. */
export async function measureReplicas(emulator: EmulatorProcess): Promise<ReplicasResult[]> {
  return [
    await measureOnce(emulator, 'AUTH0_RATE_LIMIT=20/10', { AUTH0_RATE_LIMIT: '20/10' }),
    await measureOnce(emulator, 'learned from x-ratelimit-* headers', {}),
  ];
}

export function replicasTable(results: ReplicasResult[]): string {
  return formatTable(
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
    results.map((r) => [
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
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const emulator = await EmulatorProcess.start(REPLICAS_TENANT);
  try {
    console.log(replicasTable(await measureReplicas(emulator)));
  } finally {
    await emulator.close();
  }
}
