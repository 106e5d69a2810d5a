// The link table: `linkAccounts` through the gateway in both modes against the same link sent to
// the emulator directly and through a hand-written Apollo + fetch server, all in one run.
import {
  classifyAuth0Link,
  classifyGraphQL,
  runLoad,
  type BenchRequest,
  type LoadOptions,
  type LoadResult,
} from '../load.js';
import {
  readCpuMs,
  startGatewayProcess,
  startMinimalServer,
  type EmulatorProcess,
  type ServerProcess,
} from '../processes.js';
import { secondaryId } from '../protocol.js';
import { countsText, fixed, formatTable, int } from '../report.js';
import {
  bare,
  bearer,
  linkRequest,
  primaryOf,
  primaryTokenOf,
  type LinkMode,
  type Tokens,
} from '../tenant.js';
import type { BenchContext, Scenario, Target } from './scenario.js';

/** Each link row consumes the secondaries in order: warm-up, then one client, then many. */
const PHASE = { warmup: 300, single: 600, concurrent: 3600 };
/**
 * Links per mode sent to each freshly started server before any row is measured: the gateway
 * runs about 1.5× slower for its first couple of thousand requests (JIT, heap sizing).
 */
const SERVER_WARMUP_LINKS = 2000;
const CONCURRENCY = 16;
/** The gateway's throughput in each mode over the hand-written server's, measured in the same run. */
const MIN_RATIO_TO_HAND_WRITTEN = 1.0;
const MAX_ADDED_P50_MS = 1;

/** One way of linking secondary `i` into primary `i % primaries`. */
interface LinkTarget {
  key: string;
  label: string;
  /** Which Auth0 request body: `{ link_with }` with the user's token, or `{ provider, user_id }`. */
  mode: LinkMode;
  /** Auth0 calls per link. */
  upstream: string;
  url: string;
  /** The process that answers `url` (the emulator itself for the direct rows). */
  pid: number;
  build(i: number): BenchRequest;
  classify: LoadOptions['classify'];
}

interface LinkRow {
  target: LinkTarget;
  single: LoadResult;
  concurrent: LoadResult;
  /** CPU milliseconds per link during the concurrent phase; `null` without /proc. */
  serverCpuMs: number | null;
  emulatorCpuMs: number | null;
}

function directTargets(emulator: EmulatorProcess, tokens: Tokens): LinkTarget[] {
  const { origin, pid } = emulator;
  const path = (i: number) => `/api/v2/users/${encodeURIComponent(primaryOf(i))}/identities`;
  const direct = (key: string, label: string, mode: LinkMode, build: LinkTarget['build']): LinkTarget => ({
    key,
    label,
    mode,
    upstream: '1',
    url: origin,
    pid,
    build,
    classify: classifyAuth0Link,
  });
  return [
    direct('1', '(1)  emulator direct, service token', 'admin', (i) => ({
      path: path(i),
      headers: bearer(tokens.service),
      body: JSON.stringify({ provider: 'auth0', user_id: bare(secondaryId(i)) }),
    })),
    direct('1b', '(1b) emulator direct, user token + link_with', 'jwt', (i) => ({
      path: path(i),
      headers: bearer(primaryTokenOf(tokens, i)),
      body: JSON.stringify({ link_with: tokens.secondaries[i] }),
    })),
  ];
}

/** `linkAccounts` through the gateway or the hand-written server. */
function serverTarget(
  kind: 'gateway' | 'hand-written',
  key: string,
  label: string,
  server: ServerProcess,
  tokens: Tokens,
  mode: LinkMode,
): LinkTarget {
  return {
    key,
    label,
    mode,
    // The verified-email policy reads both users before linking.
    upstream: key === '2c' ? '3' : '1',
    url: server.url,
    pid: server.pid,
    build: linkRequest(kind, tokens, mode),
    classify: classifyGraphQL,
  };
}

/** Warms a freshly started server with SERVER_WARMUP_LINKS links of each of its targets' modes. */
async function warmUp(emulator: EmulatorProcess, targets: LinkTarget[]): Promise<void> {
  await emulator.reset();
  let offset = 0;
  for (const target of targets) {
    const start = offset;
    await runLoad({
      url: target.url,
      concurrency: CONCURRENCY,
      count: SERVER_WARMUP_LINKS,
      build: (i) => target.build(start + i),
      classify: target.classify,
    });
    offset += SERVER_WARMUP_LINKS;
  }
}

/** Fresh tenant, then warm-up, one client, and CONCURRENCY clients, each on unused secondaries. */
async function measureLinks(ctx: BenchContext, target: LinkTarget): Promise<LinkRow> {
  const { emulator } = ctx;
  await emulator.reset();
  const phase = (offset: number, count: number, concurrency: number) =>
    runLoad({
      url: target.url,
      concurrency,
      count,
      build: (i) => target.build(offset + i),
      classify: target.classify,
    });
  await phase(0, PHASE.warmup, CONCURRENCY);
  const single = await phase(PHASE.warmup, PHASE.single, 1);
  const cpuBefore = await Promise.all([readCpuMs(target.pid), readCpuMs(emulator.pid)]);
  const concurrent = await phase(PHASE.warmup + PHASE.single, PHASE.concurrent, CONCURRENCY);
  const cpuAfter = await Promise.all([readCpuMs(target.pid), readCpuMs(emulator.pid)]);
  const perLink = (i: number) => {
    const [before, after] = [cpuBefore[i], cpuAfter[i]];
    return before === null || after === null ? null : (after - before) / PHASE.concurrent;
  };
  ctx.log(`${target.label}: ${int(concurrent.perSecond)}/s, p50 at c=1 ${fixed(single.p50Ms)} ms`);
  return {
    target,
    single,
    concurrent,
    serverCpuMs: target.pid === emulator.pid ? null : perLink(0),
    emulatorCpuMs: perLink(1),
  };
}

function mergeCounts(...all: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const counts of all) for (const [k, v] of Object.entries(counts)) merged[k] = (merged[k] ?? 0) + v;
  return merged;
}

/** The hand-written row with the same Auth0 body as `row`, if `row` is a gateway row. */
const HAND_WRITTEN_OF: Record<string, string> = { '2a': '3b', '2b': '3a', '2c': '3a' };

function linkTable(rows: LinkRow[]): string {
  const byKey = new Map(rows.map((r) => [r.target.key, r]));
  const limit = byKey.get('1') as LinkRow;
  const sameBody = (row: LinkRow) =>
    (row.target.key.startsWith('1') ? row : byKey.get(row.target.mode === 'jwt' ? '1b' : '1')) as LinkRow;
  return formatTable(
    [
      'scenario',
      'Auth0 calls',
      'c=1 p50 ms',
      'p99 ms',
      'added p50',
      `c=${CONCURRENCY} req/s`,
      'p50 ms',
      'p99 ms',
      '÷ (1)',
      '÷ same-body direct',
      '÷ hand-written',
      'server CPU ms/link',
      'emulator CPU ms/link',
      'failures',
    ],
    rows.map((row) => {
      const direct = sameBody(row);
      const hand = byKey.get(HAND_WRITTEN_OF[row.target.key] ?? '');
      return [
        row.target.label,
        row.target.upstream,
        fixed(row.single.p50Ms),
        fixed(row.single.p99Ms),
        row === direct ? '-' : `+${fixed(row.single.p50Ms - direct.single.p50Ms)}`,
        int(row.concurrent.perSecond),
        fixed(row.concurrent.p50Ms),
        fixed(row.concurrent.p99Ms),
        fixed(row.concurrent.perSecond / limit.concurrent.perSecond),
        fixed(row.concurrent.perSecond / direct.concurrent.perSecond),
        hand ? fixed(row.concurrent.perSecond / hand.concurrent.perSecond) : '-',
        row.serverCpuMs === null ? '-' : fixed(row.serverCpuMs, 3),
        row.emulatorCpuMs === null ? '-' : fixed(row.emulatorCpuMs, 3),
        countsText(mergeCounts(row.single.failures, row.concurrent.failures)),
      ];
    }),
  );
}

function linkTargets(rows: LinkRow[]): Target[] {
  const row = (key: string) => rows.find((r) => r.target.key === key) as LinkRow;
  const cpu = (r: LinkRow) => (r.serverCpuMs === null ? '' : `, CPU ${fixed(r.serverCpuMs, 3)} ms/link`);
  const out: Target[] = [];
  for (const [gw, hand, mode] of [
    ['2a', '3b', 'jwt'],
    ['2b', '3a', 'admin (trust)'],
  ] as const) {
    const g = row(gw);
    const h = row(hand);
    const ratio = g.concurrent.perSecond / h.concurrent.perSecond;
    out.push({
      text: `${mode} link throughput at c=${CONCURRENCY} ≥ ${fixed(MIN_RATIO_TO_HAND_WRITTEN, 1)}× hand-written`,
      figure: `${int(g.concurrent.perSecond)}/s${cpu(g)} vs ${int(h.concurrent.perSecond)}/s${cpu(h)} (${fixed(ratio)}×)`,
      met: ratio >= MIN_RATIO_TO_HAND_WRITTEN,
    });
  }
  for (const [gw, direct, mode] of [
    ['2a', '1b', 'jwt'],
    ['2b', '1', 'admin (trust)'],
  ] as const) {
    const added = row(gw).single.p50Ms - row(direct).single.p50Ms;
    out.push({
      text: `added p50 over a direct Auth0 call at c=1 < ${MAX_ADDED_P50_MS} ms, ${mode}`,
      figure: `${fixed(row(gw).single.p50Ms)} − ${fixed(row(direct).single.p50Ms)} = ${fixed(added)} ms`,
      met: added < MAX_ADDED_P50_MS,
    });
  }
  return out;
}

/**
 * The direct rows, then the gateway and the hand-written server (both running, warmed) measured
 * row by row in turn, mode by mode, so their ratio sees the same machine conditions; then the
 * gateway with the default verified-email policy, a process of its own.
 */
async function run(ctx: BenchContext) {
  const { emulator } = ctx;
  const tokens = await ctx.tokens();
  const rows: LinkRow[] = [];
  for (const target of directTargets(emulator, tokens)) rows.push(await measureLinks(ctx, target));

  await ctx.withServer(startGatewayProcess(emulator.origin, { ADMIN_LINK_POLICY: 'trust' }), (gateway) =>
    ctx.withServer(startMinimalServer(emulator.origin), async (hand) => {
      const pairs = [
        [
          serverTarget('gateway', '2a', '(2a) gateway, jwt', gateway, tokens, 'jwt'),
          serverTarget(
            'hand-written',
            '3b',
            '(3b) Apollo + fetch by hand, user token + link_with',
            hand,
            tokens,
            'jwt',
          ),
        ],
        [
          serverTarget(
            'gateway',
            '2b',
            '(2b) gateway, admin, ADMIN_LINK_POLICY=trust',
            gateway,
            tokens,
            'admin',
          ),
          serverTarget(
            'hand-written',
            '3a',
            '(3a) Apollo + fetch by hand, service token',
            hand,
            tokens,
            'admin',
          ),
        ],
      ];
      await warmUp(
        emulator,
        pairs.map(([g]) => g),
      );
      await warmUp(
        emulator,
        pairs.map(([, h]) => h),
      );
      for (const pair of pairs) for (const target of pair) rows.push(await measureLinks(ctx, target));
    }),
  );

  await ctx.withServer(startGatewayProcess(emulator.origin), async (gateway) => {
    const target = serverTarget(
      'gateway',
      '2c',
      '(2c) gateway, admin, verified-email (default)',
      gateway,
      tokens,
      'admin',
    );
    await warmUp(emulator, [target]);
    rows.push(await measureLinks(ctx, target));
  });

  const order = ['1', '1b', '2a', '2b', '2c', '3a', '3b'];
  rows.sort((a, b) => order.indexOf(a.target.key) - order.indexOf(b.target.key));
  return {
    lines: [
      `Link (1 Auth0 call unless noted): each server warmed with ${SERVER_WARMUP_LINKS} links per mode; per row`,
      `${PHASE.warmup} warm-up links, ${PHASE.single} at c=1, then ${PHASE.concurrent} at c=${CONCURRENCY}, each on a fresh secondary;`,
      'the gateway and the hand-written server are measured alternately, mode by mode',
      linkTable(rows),
    ],
    targets: linkTargets(rows),
  };
}

export const linkModes: Scenario = { name: 'links', run };
