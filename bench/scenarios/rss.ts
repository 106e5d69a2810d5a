// The RSS table: a fresh gateway's resident set size before any request and after every 10,000
// of 50,000 `me` queries (alice's token; one GET /api/v2/users/{id} each) at 16 connections.
import { classifyGraphQL, runLoad } from '../load.js';
import { readRssBytes, startGatewayProcess } from '../processes.js';
import { countsText, fixed, formatTable, int, mib } from '../report.js';
import { bearer } from '../tenant.js';
import type { BenchContext, Scenario } from './scenario.js';

const RSS = { requests: 50_000, checkpoints: [10_000, 20_000, 30_000, 40_000, 50_000], concurrency: 16 };
/** Growth is measured from the first checkpoint: the first 10,000 size the heap to the load. */
const MAX_GROWTH = 0.1;
const ME_QUERY = '{ me { id identities { id provider userId } } }';

async function run(ctx: BenchContext) {
  const { emulator } = ctx;
  const tokens = await ctx.tokens();
  await emulator.reset();
  const gatewayEnv = { ADMIN_LINK_POLICY: 'trust' };
  const { beforeBytes, at, result } = await ctx.withServer(
    startGatewayProcess(emulator.origin, gatewayEnv),
    async (gateway) => {
      const beforeBytes = await readRssBytes(gateway.pid);
      const at: { requests: number; bytes: number | null }[] = [];
      const body = JSON.stringify({ query: ME_QUERY });
      const result = await runLoad({
        url: gateway.url,
        concurrency: RSS.concurrency,
        count: RSS.requests,
        build: () => ({ headers: bearer(tokens.alice), body }),
        classify: classifyGraphQL,
        onProgress: async (completed) => {
          if (!RSS.checkpoints.includes(completed)) return;
          at.push({ requests: completed, bytes: await readRssBytes(gateway.pid) });
          // The emulator journals every request; keep its own memory bounded.
          await emulator.clearJournal();
        },
      });
      return { beforeBytes, at, result };
    },
  );
  ctx.log(`rss: ${RSS.requests} × me at ${int(result.perSecond)}/s`);

  const points = [{ requests: 0, bytes: beforeBytes }, ...at];
  const first = at[0]?.bytes ?? null;
  const last = at[at.length - 1]?.bytes ?? null;
  const growth = first && last ? last / first - 1 : NaN;
  const sign = growth >= 0 ? '+' : '';
  return {
    lines: [
      formatTable(
        ['gateway RSS (MiB) after n `me` queries', ...points.map((p) => String(p.requests))],
        [['RSS', ...points.map((p) => mib(p.bytes))]],
      ),
      `(${RSS.requests} \`me\` queries at c=${RSS.concurrency}: ${int(result.perSecond)}/s, failures ${countsText(result.failures)})`,
    ],
    targets: [
      {
        text: `RSS growth between ${RSS.checkpoints[0]} and ${RSS.requests} requests < ${MAX_GROWTH * 100}%`,
        figure: `${mib(first)} → ${mib(last)} MiB (${sign}${fixed(growth * 100, 1)}%)`,
        met: growth < MAX_GROWTH,
      },
    ],
  };
}

export const rss: Scenario = { name: 'rss', run };
