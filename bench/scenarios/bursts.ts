// The burst table (issue 6): 500 admin links from 50 clients against a tenant limited to 50/s
// with a burst of 20, with a configured budget and with one learned from x-ratelimit-* headers.
import { classifyGraphQL, runLoad, type LoadResult } from '../load.js';
import { startGatewayProcess } from '../processes.js';
import type { LinkStatuses } from '../protocol.js';
import { countsText, fixed, formatTable } from '../report.js';
import { linkRequest } from '../tenant.js';
import type { BenchContext, Scenario, Target } from './scenario.js';

const BURST = { links: 500, clients: 50, perSecond: 50, burst: 20, maxWaitMs: 60_000 };
const IDEAL_SECONDS = (BURST.links - BURST.burst) / BURST.perSecond;

interface BurstResult {
  label: string;
  result: LoadResult;
  statuses: LinkStatuses;
  rateLimited: number;
  rateLimitedAfterFirstSecond: number;
  /** Seconds from the start to the last 429 the emulator sent, when any. */
  last429AtSeconds: number | null;
  /** Links Auth0 accepted per second after the first second: the sustained pace the gateway kept. */
  sustainedPerSecond: number;
}

async function measureBurst(
  ctx: BenchContext,
  label: string,
  env: Record<string, string>,
): Promise<BurstResult> {
  const { emulator } = ctx;
  const tokens = await ctx.tokens();
  const gatewayEnv = { ADMIN_LINK_POLICY: 'trust', AUTH0_MAX_WAIT_MS: String(BURST.maxWaitMs), ...env };
  return ctx.withServer(startGatewayProcess(emulator.origin, gatewayEnv), async (gateway) => {
    const build = linkRequest('gateway', tokens, 'admin');
    // One unlimited link first, so the service token and the JIT are not part of the burst;
    // the emulator sends no x-ratelimit-* headers then, so nothing is learned from it.
    await emulator.setRateLimit(false);
    await runLoad({ url: gateway.url, concurrency: 1, count: 1, build, classify: classifyGraphQL });
    await emulator.reset();
    await emulator.setRateLimit({ perSecond: BURST.perSecond, burst: BURST.burst });

    let latest429 = 0;
    let at1s: number | null = null;
    let linkedAt1s = { count: 0, seconds: 0 };
    let last429AtSeconds: number | null = null;
    const started = Date.now();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const statuses = await emulator.linkStatuses();
        const elapsed = (Date.now() - started) / 1000;
        const count = statuses.byStatus['429'] ?? 0;
        if (count > latest429) last429AtSeconds = elapsed;
        latest429 = count;
        if (elapsed <= 1) {
          at1s = count;
          linkedAt1s = { count: statuses.byStatus['201'] ?? 0, seconds: elapsed };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const result = await runLoad({
      url: gateway.url,
      concurrency: BURST.clients,
      count: BURST.links,
      build: (i) => build(1 + i),
      classify: classifyGraphQL,
    });
    polling = false;
    await poll;
    const statuses = await emulator.linkStatuses();
    await emulator.setRateLimit(false);
    const rateLimited = statuses.byStatus['429'] ?? 0;
    const linked = statuses.byStatus['201'] ?? 0;
    const sustainedPerSecond = (linked - linkedAt1s.count) / (result.elapsedMs / 1000 - linkedAt1s.seconds);
    if (rateLimited > latest429) last429AtSeconds = result.elapsedMs / 1000;
    ctx.log(`${label}: ${fixed(result.elapsedMs / 1000)} s, ${rateLimited} × 429`);
    return {
      label,
      result,
      statuses,
      rateLimited,
      rateLimitedAfterFirstSecond: rateLimited - (at1s ?? 0),
      last429AtSeconds,
      sustainedPerSecond,
    };
  });
}

const signedPercent = (fraction: number) => `${fraction >= 0 ? '+' : ''}${fixed(fraction * 100, 1)}%`;

function burstTable(bursts: BurstResult[]): string {
  return formatTable(
    [
      'burst: 500 admin links, 50 clients, Auth0 at 50/s burst 20',
      'ok',
      'failed (by code)',
      'Auth0 link calls',
      '429s sent',
      '429s after 1 s',
      'last 429 at s',
      'Auth0 links/s after 1 s',
      'total s',
      'ideal s',
      'vs ideal',
    ],
    bursts.map((b) => [
      b.label,
      String(b.result.successes),
      countsText(b.result.failures),
      String(b.statuses.total),
      String(b.rateLimited),
      String(b.rateLimitedAfterFirstSecond),
      b.last429AtSeconds === null ? '-' : fixed(b.last429AtSeconds, 1),
      fixed(b.sustainedPerSecond, 1),
      fixed(b.result.elapsedMs / 1000),
      fixed(IDEAL_SECONDS, 1),
      signedPercent(b.result.elapsedMs / 1000 / IDEAL_SECONDS - 1),
    ]),
  );
}

function burstTargets(configured: BurstResult, learned: BurstResult): Target[] {
  const ratio = (b: BurstResult) => b.result.elapsedMs / 1000 / IDEAL_SECONDS;
  const failed = (b: BurstResult) => BURST.links - b.result.successes;
  const share = learned.statuses.total === 0 ? 0 : learned.rateLimited / learned.statuses.total;
  return [
    {
      text: 'burst, AUTH0_RATE_LIMIT=50/20: no failed mutation',
      figure: `${failed(configured)} failed`,
      met: failed(configured) === 0,
    },
    {
      text: 'burst, AUTH0_RATE_LIMIT=50/20: no 429 after the first second',
      figure: `${configured.rateLimitedAfterFirstSecond} after 1 s (${configured.rateLimited} in all)`,
      met: configured.rateLimitedAfterFirstSecond === 0,
    },
    {
      text: `burst, AUTH0_RATE_LIMIT=50/20: total within 10% of ${fixed(IDEAL_SECONDS, 1)} s`,
      figure: `${fixed(configured.result.elapsedMs / 1000)} s (${signedPercent(ratio(configured) - 1)})`,
      met: Math.abs(ratio(configured) - 1) <= 0.1,
    },
    {
      text: 'burst, learned from headers: no failed mutation',
      figure: `${failed(learned)} failed`,
      met: failed(learned) === 0,
    },
    {
      text: `burst, learned from headers: total within 30% of ${fixed(IDEAL_SECONDS, 1)} s`,
      figure: `${fixed(learned.result.elapsedMs / 1000)} s (${signedPercent(ratio(learned) - 1)})`,
      met: Math.abs(ratio(learned) - 1) <= 0.3,
    },
    {
      text: 'burst, learned from headers: < 5% of Auth0 calls answered 429',
      figure: `${learned.rateLimited} of ${learned.statuses.total} (${fixed(share * 100, 1)}%)`,
      met: share < 0.05,
    },
  ];
}

async function run(ctx: BenchContext) {
  const configured = await measureBurst(ctx, 'AUTH0_RATE_LIMIT=50/20', { AUTH0_RATE_LIMIT: '50/20' });
  const learned = await measureBurst(ctx, 'learned from x-ratelimit-* headers', {});
  return { lines: [burstTable([configured, learned])], targets: burstTargets(configured, learned) };
}

export const bursts: Scenario = { name: 'bursts', run };
