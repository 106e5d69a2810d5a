// The floor: `{ __typename }` (no Auth0 call) through the gateway and the hand-written server,
// both running, measured round by round in turn: what the HTTP + Apollo layer of each costs.
import { classifyGraphQL, runLoad, type LoadResult } from '../load.js';
import { readCpuMs, startGatewayProcess, startMinimalServer, type ServerProcess } from '../processes.js';
import { countsText, fixed, formatTable, int } from '../report.js';
import { bearer, JSON_HEADERS } from '../tenant.js';
import type { BenchContext, Scenario, Target } from './scenario.js';

const WARMUP = 3000;
const ROUNDS = 3;
const SINGLE = 500;
const CONCURRENT = 4000;
const CONCURRENCY = 16;
/** At least the hand-written throughput in the same run, and a one-connection p50 within 0.05 ms of it. */
const MIN_RATIO = 1.0;
const MAX_P50_DIFFERENCE_MS = 0.05;
const BODY = JSON.stringify({ query: '{ __typename }' });

interface Variant {
  label: string;
  server: ServerProcess;
  headers: Record<string, string>;
}

interface Round {
  single: LoadResult;
  concurrent: LoadResult;
  cpuMs: number | null;
}

const load = (variant: Variant, concurrency: number, count: number) =>
  runLoad({
    url: variant.server.url,
    concurrency,
    count,
    build: () => ({ headers: variant.headers, body: BODY }),
    classify: classifyGraphQL,
  });

async function measureRound(variant: Variant): Promise<Round> {
  const single = await load(variant, 1, SINGLE);
  const before = await readCpuMs(variant.server.pid);
  const concurrent = await load(variant, CONCURRENCY, CONCURRENT);
  const after = await readCpuMs(variant.server.pid);
  return { single, concurrent, cpuMs: before === null || after === null ? null : after - before };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function failuresOf(rounds: Round[]): string {
  const merged: Record<string, number> = {};
  for (const r of rounds) {
    for (const counts of [r.single.failures, r.concurrent.failures]) {
      for (const [k, v] of Object.entries(counts)) merged[k] = (merged[k] ?? 0) + v;
    }
  }
  return countsText(merged);
}

async function run(ctx: BenchContext) {
  const { emulator } = ctx;
  const tokens = await ctx.tokens();
  return ctx.withServer(startGatewayProcess(emulator.origin, { ADMIN_LINK_POLICY: 'trust' }), (gateway) =>
    ctx.withServer(startMinimalServer(emulator.origin), async (hand) => {
      const variants: Variant[] = [
        { label: 'gateway', server: gateway, headers: JSON_HEADERS },
        // The gateway verifies a bearer while building the context (DESIGN §7); cached after the first.
        { label: 'gateway with a user bearer (verified)', server: gateway, headers: bearer(tokens.alice) },
        { label: 'hand-written Apollo (startStandaloneServer)', server: hand, headers: JSON_HEADERS },
      ];
      for (const variant of variants) await load(variant, CONCURRENCY, WARMUP);
      const rounds: Round[][] = variants.map(() => []);
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const [i, variant] of variants.entries()) rounds[i].push(await measureRound(variant));
      }
      const handRounds = rounds[2];
      // Ratios and differences are taken round by round (the servers saw the same load then),
      // and the median of the rounds is reported.
      const ratio = (i: number) =>
        median(rounds[i].map((r, k) => r.concurrent.perSecond / handRounds[k].concurrent.perSecond));
      const p50Difference = (i: number) =>
        median(rounds[i].map((r, k) => r.single.p50Ms - handRounds[k].single.p50Ms));
      const cpuPerRequest = (i: number) =>
        rounds[i].some((r) => r.cpuMs === null)
          ? null
          : rounds[i].reduce((sum, r) => sum + (r.cpuMs as number), 0) / (ROUNDS * CONCURRENT);
      const rows = variants.map((variant, i) => {
        const rs = rounds[i];
        const cpu = cpuPerRequest(i);
        return [
          variant.label,
          fixed(median(rs.map((r) => r.single.p50Ms)), 3),
          fixed(median(rs.map((r) => r.single.p99Ms))),
          i === 2 ? '-' : `${p50Difference(i) >= 0 ? '+' : ''}${fixed(p50Difference(i), 3)}`,
          int(median(rs.map((r) => r.concurrent.perSecond))),
          fixed(median(rs.map((r) => r.concurrent.p50Ms))),
          fixed(median(rs.map((r) => r.concurrent.p99Ms))),
          i === 2 ? '-' : fixed(ratio(i)),
          cpu === null ? '-' : fixed(cpu, 3),
          failuresOf(rs),
        ];
      });
      ctx.log(
        `floor: ${fixed(ratio(0))}× the hand-written throughput, p50 ${fixed(p50Difference(0), 3)} ms apart`,
      );
      const targets: Target[] = [
        {
          text: `floor throughput at c=${CONCURRENCY} ≥ ${fixed(MIN_RATIO, 1)}× hand-written`,
          figure: `${rows[0][4]}/s vs ${rows[2][4]}/s (${fixed(ratio(0))}×, median of ${ROUNDS} rounds)`,
          met: ratio(0) >= MIN_RATIO,
        },
        {
          text: `floor p50 at c=1 within ${MAX_P50_DIFFERENCE_MS} ms of hand-written`,
          figure: `${rows[0][1]} vs ${rows[2][1]} ms (${rows[0][3]} ms)`,
          met: p50Difference(0) <= MAX_P50_DIFFERENCE_MS,
        },
      ];
      return {
        lines: [
          `Floor: \`{ __typename }\`, no Auth0 call; ${WARMUP} warm-up requests each, then ${ROUNDS} rounds of`,
          `${SINGLE} at c=1 and ${CONCURRENT} at c=${CONCURRENCY} per variant in turn; medians of the rounds`,
          formatTable(
            [
              'floor',
              'c=1 p50 ms',
              'p99 ms',
              'p50 − hand-written',
              `c=${CONCURRENCY} req/s`,
              'p50 ms',
              'p99 ms',
              '÷ hand-written',
              'server CPU ms/request',
              'failures',
            ],
            rows,
          ),
        ],
        targets,
      };
    }),
  );
}

export const floor: Scenario = { name: 'floor', run };
