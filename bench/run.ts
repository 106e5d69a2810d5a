// `npm run bench`: the emulator, the gateway and a hand-written Apollo + fetch server on 127.0.0.1,
// measured side by side in one run (issue 6). Prints the figures and the targets; never fails on them.
process.env.APOLLO_TELEMETRY_DISABLED = 'true';

import { DEMO } from '../src/auth0-emulator/index.js';
import {
  classifyAuth0Link,
  classifyGraphQL,
  runLoad,
  type BenchRequest,
  type LoadResult,
  type LoadOptions,
} from './load.js';
import { primaryId, secondaryId, type BenchTenantShape, type LinkStatuses } from './protocol.js';
import {
  EmulatorProcess,
  readCpuMs,
  readRssBytes,
  startGatewayProcess,
  startMinimalServer,
  type ServerProcess,
} from './processes.js';
import { measureReplicas, replicasTable } from './replicas.js';
import { countsText, fixed, formatTable, int, loadLine, machineLine, mib, verdict } from './report.js';

/**
 * 4,500 standalone secondaries linked into 900 primaries: at most 5 linked identities each, so
 * responses stay small. (The emulator's reset re-seeds in O(users²): ~1.5 s at this size.)
 */
const TENANT: BenchTenantShape = { primaries: 900, secondaries: 4500 };
/** Each link row consumes the secondaries in order: warm-up, then one client, then many. */
const PHASE = { warmup: 300, single: 600, concurrent: 3600 };
/**
 * Links per mode sent to each freshly started server before any row is measured: the gateway
 * runs about 1.5× slower for its first couple of thousand requests (JIT, heap sizing).
 */
const SERVER_WARMUP_LINKS = 2000;
const FLOOR_REQUESTS = 500;
const CONCURRENCY = 16;
const BURST = { links: 500, clients: 50, perSecond: 50, burst: 20, maxWaitMs: 60_000 };
const IDEAL_BURST_SECONDS = (BURST.links - BURST.burst) / BURST.perSecond;
const RSS = { requests: 50_000, checkpoints: [10_000, 20_000, 30_000, 40_000, 50_000], concurrency: 16 };

const JSON_HEADERS = { 'content-type': 'application/json' };
const LINK_MUTATION = `mutation Link($primaryId: ID!, $input: LinkAccountsInput!) {
  linkAccounts(primaryId: $primaryId, input: $input) { identities { id provider userId connection isSocial } }
}`;
const MINIMAL_MUTATION = `mutation Link($primaryId: ID!, $linkWith: String, $provider: String, $userId: String) {
  linkAccounts(primaryId: $primaryId, linkWith: $linkWith, provider: $provider, userId: $userId) {
    provider user_id connection isSocial
  }
}`;
const ME_QUERY = '{ me { id identities { id provider userId } } }';

const bare = (userId: string) => userId.slice(userId.indexOf('|') + 1);
const bearer = (token: string) => ({ ...JSON_HEADERS, authorization: `Bearer ${token}` });
const log = (text: string) => process.stderr.write(`bench: ${text}\n`);

interface Tokens {
  service: string;
  admin: string;
  /** User access token of primary k. */
  primaries: string[];
  /** ID token of secondary i. */
  secondaries: string[];
}

/** One way of linking secondary `i` into primary `i % primaries`. */
interface LinkTarget {
  key: string;
  label: string;
  /** Which Auth0 request body: `{ link_with }` with the user's token, or `{ provider, user_id }`. */
  mode: 'jwt' | 'admin';
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

async function fetchServiceToken(origin: string): Promise<string> {
  const response = await fetch(`${origin}/oauth/token`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: DEMO.serviceClientId,
      client_secret: DEMO.serviceClientSecret,
      audience: `${origin}/api/v2/`,
    }),
  });
  if (!response.ok) throw new Error(`service token: the emulator answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function mintTokens(emulator: EmulatorProcess): Promise<Tokens> {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const chunks = async (subs: string[], mint: (s: string[]) => Promise<string[]>) => {
    const out: string[] = [];
    for (let at = 0; at < subs.length; at += 500) out.push(...(await mint(subs.slice(at, at + 500))));
    return out;
  };
  return {
    service: await fetchServiceToken(emulator.origin),
    admin: await emulator.adminToken('update:users read:users'),
    primaries: await chunks(range(TENANT.primaries).map(primaryId), emulator.userAccessTokens),
    secondaries: await chunks(range(TENANT.secondaries).map(secondaryId), emulator.idTokens),
  };
}

const primaryOf = (i: number) => primaryId(i % TENANT.primaries);
const primaryTokenOf = (tokens: Tokens, i: number) => tokens.primaries[i % TENANT.primaries];

function directTargets(emulator: EmulatorProcess, tokens: Tokens): LinkTarget[] {
  const { origin, pid } = emulator;
  const path = (i: number) => `/api/v2/users/${encodeURIComponent(primaryOf(i))}/identities`;
  return [
    {
      key: '1',
      label: '(1)  emulator direct, service token',
      mode: 'admin',
      upstream: '1',
      url: origin,
      pid,
      build: (i) => ({
        path: path(i),
        headers: bearer(tokens.service),
        body: JSON.stringify({ provider: 'auth0', user_id: bare(secondaryId(i)) }),
      }),
      classify: classifyAuth0Link,
    },
    {
      key: '1b',
      label: '(1b) emulator direct, user token + link_with',
      mode: 'jwt',
      upstream: '1',
      url: origin,
      pid,
      build: (i) => ({
        path: path(i),
        headers: bearer(primaryTokenOf(tokens, i)),
        body: JSON.stringify({ link_with: tokens.secondaries[i] }),
      }),
      classify: classifyAuth0Link,
    },
  ];
}

function gatewayTarget(
  key: string,
  label: string,
  server: ServerProcess,
  tokens: Tokens,
  mode: 'jwt' | 'admin',
): LinkTarget {
  return {
    key,
    label,
    mode,
    // The verified-email policy reads both users before linking.
    upstream: key === '2c' ? '3' : '1',
    url: server.url,
    pid: server.pid,
    build: (i: number) => ({
      headers: bearer(mode === 'jwt' ? primaryTokenOf(tokens, i) : tokens.admin),
      body: JSON.stringify({
        query: LINK_MUTATION,
        variables: {
          primaryId: primaryOf(i),
          input:
            mode === 'jwt'
              ? { jwt: { linkWith: tokens.secondaries[i] } }
              : { admin: { provider: 'auth0', userId: bare(secondaryId(i)) } },
        },
      }),
    }),
    classify: classifyGraphQL,
  };
}

function minimalTarget(
  key: string,
  label: string,
  server: ServerProcess,
  tokens: Tokens,
  mode: 'jwt' | 'admin',
): LinkTarget {
  return {
    key,
    label,
    mode,
    upstream: '1',
    url: server.url,
    pid: server.pid,
    build: (i: number) => ({
      headers: bearer(mode === 'jwt' ? primaryTokenOf(tokens, i) : tokens.admin),
      body: JSON.stringify({
        query: MINIMAL_MUTATION,
        variables:
          mode === 'jwt'
            ? { primaryId: primaryOf(i), linkWith: tokens.secondaries[i] }
            : { primaryId: primaryOf(i), provider: 'auth0', userId: bare(secondaryId(i)) },
      }),
    }),
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

/**
 * `{ __typename }` at one connection: what the HTTP + Apollo layer costs with no Auth0 call (with a
 * bearer, the gateway also verifies it while building the context).
 */
async function measureFloor(url: string, headers: Record<string, string>): Promise<LoadResult> {
  const body = JSON.stringify({ query: '{ __typename }' });
  const run = (count: number) =>
    runLoad({ url, concurrency: 1, count, build: () => ({ headers, body }), classify: classifyGraphQL });
  await run(100);
  return run(FLOOR_REQUESTS);
}

interface FloorSpec {
  name: string;
  headers: Record<string, string>;
}

/** Fresh tenant, then warm-up, one client, and CONCURRENCY clients, each on unused secondaries. */
async function measureLinks(emulator: EmulatorProcess, target: LinkTarget): Promise<LinkRow> {
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
  log(`${target.label}: ${int(concurrent.perSecond)}/s, p50 at c=1 ${fixed(single.p50Ms)} ms`);
  return {
    target,
    single,
    concurrent,
    serverCpuMs: target.pid === emulator.pid ? null : perLink(0),
    emulatorCpuMs: perLink(1),
  };
}

/** Things that went wrong with a server under test; printed with the report. */
const incidents: string[] = [];

async function withServer<T>(start: Promise<ServerProcess>, use: (s: ServerProcess) => Promise<T>) {
  const server = await start;
  try {
    return await use(server);
  } finally {
    const exit = server.unexpectedExit();
    if (exit) {
      const text = `server ${server.url} (pid ${server.pid}) ${exit}; its last output:\n${server.outputTail()}`;
      incidents.push(text);
      log(text);
    }
    await server.close();
  }
}

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
  emulator: EmulatorProcess,
  label: string,
  env: Record<string, string>,
  tokens: Tokens,
): Promise<BurstResult> {
  return withServer(
    startGatewayProcess(emulator.origin, {
      ADMIN_LINK_POLICY: 'trust',
      AUTH0_MAX_WAIT_MS: String(BURST.maxWaitMs),
      ...env,
    }),
    async (gateway) => {
      const target = gatewayTarget('burst', label, gateway, tokens, 'admin');
      // One unlimited link first, so the service token and the JIT are not part of the burst;
      // the emulator sends no x-ratelimit-* headers then, so nothing is learned from it.
      await emulator.setRateLimit(false);
      await runLoad({
        url: gateway.url,
        concurrency: 1,
        count: 1,
        build: target.build,
        classify: target.classify,
      });
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
        build: (i) => target.build(1 + i),
        classify: target.classify,
      });
      polling = false;
      await poll;
      const statuses = await emulator.linkStatuses();
      await emulator.setRateLimit(false);
      const rateLimited = statuses.byStatus['429'] ?? 0;
      const linked = statuses.byStatus['201'] ?? 0;
      const sustainedPerSecond = (linked - linkedAt1s.count) / (result.elapsedMs / 1000 - linkedAt1s.seconds);
      if (rateLimited > latest429) last429AtSeconds = result.elapsedMs / 1000;
      log(`${label}: ${fixed(result.elapsedMs / 1000)} s, ${rateLimited} × 429`);
      return {
        label,
        result,
        statuses,
        rateLimited,
        rateLimitedAfterFirstSecond: rateLimited - (at1s ?? 0),
        last429AtSeconds,
        sustainedPerSecond,
      };
    },
  );
}

interface RssResult {
  beforeBytes: number | null;
  at: { requests: number; bytes: number | null }[];
  result: LoadResult;
}

async function measureRss(emulator: EmulatorProcess, aliceToken: string): Promise<RssResult> {
  await emulator.reset();
  return withServer(startGatewayProcess(emulator.origin, { ADMIN_LINK_POLICY: 'trust' }), async (gateway) => {
    const beforeBytes = await readRssBytes(gateway.pid);
    const at: RssResult['at'] = [];
    const body = JSON.stringify({ query: ME_QUERY });
    const result = await runLoad({
      url: gateway.url,
      concurrency: RSS.concurrency,
      count: RSS.requests,
      build: () => ({ headers: bearer(aliceToken), body }),
      classify: classifyGraphQL,
      onProgress: async (completed) => {
        if (!RSS.checkpoints.includes(completed)) return;
        at.push({ requests: completed, bytes: await readRssBytes(gateway.pid) });
        // The emulator journals every request; keep its own memory bounded.
        await emulator.clearJournal();
      },
    });
    log(`rss: ${RSS.requests} × me at ${int(result.perSecond)}/s`);
    return { beforeBytes, at, result };
  });
}

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
      'server CPU ms/link',
      'emulator CPU ms/link',
      'failures',
    ],
    rows.map((row) => {
      const direct = sameBody(row);
      const added = row === direct ? '-' : `+${fixed(row.single.p50Ms - direct.single.p50Ms)}`;
      return [
        row.target.label,
        row.target.upstream,
        fixed(row.single.p50Ms),
        fixed(row.single.p99Ms),
        added,
        int(row.concurrent.perSecond),
        fixed(row.concurrent.p50Ms),
        fixed(row.concurrent.p99Ms),
        fixed(row.concurrent.perSecond / limit.concurrent.perSecond),
        fixed(row.concurrent.perSecond / direct.concurrent.perSecond),
        row.serverCpuMs === null ? '-' : fixed(row.serverCpuMs, 3),
        row.emulatorCpuMs === null ? '-' : fixed(row.emulatorCpuMs, 3),
        countsText(mergeCounts(row.single.failures, row.concurrent.failures)),
      ];
    }),
  );
}

function mergeCounts(...all: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const counts of all) for (const [k, v] of Object.entries(counts)) merged[k] = (merged[k] ?? 0) + v;
  return merged;
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
      fixed(IDEAL_BURST_SECONDS, 1),
      signedPercent(b.result.elapsedMs / 1000 / IDEAL_BURST_SECONDS - 1),
    ]),
  );
}

function rssTable(rss: RssResult): string {
  const points = [{ requests: 0, bytes: rss.beforeBytes }, ...rss.at];
  return formatTable(
    ['gateway RSS (MiB) after n `me` queries', ...points.map((p) => String(p.requests))],
    [['RSS', ...points.map((p) => mib(p.bytes))]],
  );
}

interface Target {
  text: string;
  figure: string;
  met: boolean;
}

function targets(rows: LinkRow[], bursts: BurstResult[], rss: RssResult): Target[] {
  const row = (key: string) => rows.find((r) => r.target.key === key) as LinkRow;
  const out: Target[] = [];
  for (const [gw, hand, mode] of [
    ['2b', '3a', 'admin'],
    ['2a', '3b', 'jwt'],
  ] as const) {
    const g = row(gw).concurrent.perSecond;
    const h = row(hand).concurrent.perSecond;
    out.push({
      text: `gateway ${mode} throughput ≥ hand-written Apollo + fetch`,
      figure: `${int(g)}/s vs ${int(h)}/s (${fixed(g / h)}×)`,
      met: g >= h,
    });
  }
  for (const [gw, direct, mode] of [
    ['2b', '1', 'admin (trust)'],
    ['2a', '1b', 'jwt'],
  ] as const) {
    const added = row(gw).single.p50Ms - row(direct).single.p50Ms;
    out.push({
      text: `added p50 at one connection < 1 ms, ${mode}`,
      figure: `${fixed(row(gw).single.p50Ms)} − ${fixed(row(direct).single.p50Ms)} = ${fixed(added)} ms`,
      met: added < 1,
    });
  }
  const [configured, learned] = bursts;
  const ratio = (b: BurstResult) => b.result.elapsedMs / 1000 / IDEAL_BURST_SECONDS;
  const failed = (b: BurstResult) => BURST.links - b.result.successes;
  out.push({
    text: 'burst, AUTH0_RATE_LIMIT=50/20: no failed mutation',
    figure: `${failed(configured)} failed`,
    met: failed(configured) === 0,
  });
  out.push({
    text: 'burst, AUTH0_RATE_LIMIT=50/20: no 429 after the first second',
    figure: `${configured.rateLimitedAfterFirstSecond} after 1 s (${configured.rateLimited} in all)`,
    met: configured.rateLimitedAfterFirstSecond === 0,
  });
  out.push({
    text: 'burst, AUTH0_RATE_LIMIT=50/20: total within 10% of 9.6 s',
    figure: `${fixed(configured.result.elapsedMs / 1000)} s (${signedPercent(ratio(configured) - 1)})`,
    met: Math.abs(ratio(configured) - 1) <= 0.1,
  });
  out.push({
    text: 'burst, learned from headers: no failed mutation',
    figure: `${failed(learned)} failed`,
    met: failed(learned) === 0,
  });
  out.push({
    text: 'burst, learned from headers: total within 30% of 9.6 s',
    figure: `${fixed(learned.result.elapsedMs / 1000)} s (${signedPercent(ratio(learned) - 1)})`,
    met: Math.abs(ratio(learned) - 1) <= 0.3,
  });
  const share = learned.statuses.total === 0 ? 0 : learned.rateLimited / learned.statuses.total;
  out.push({
    text: 'burst, learned from headers: < 5% of Auth0 calls answered 429',
    figure: `${learned.rateLimited} of ${learned.statuses.total} (${fixed(share * 100, 1)}%)`,
    met: share < 0.05,
  });
  const at10k = rss.at.find((p) => p.requests === 10_000)?.bytes ?? null;
  const at50k = rss.at.find((p) => p.requests === 50_000)?.bytes ?? null;
  const growth = at10k && at50k ? at50k / at10k - 1 : NaN;
  out.push({
    text: 'RSS growth between 10,000 and 50,000 requests < 10%',
    figure: `${mib(at10k)} → ${mib(at50k)} MiB (${signedPercent(growth)})`,
    met: growth < 0.1,
  });
  return out;
}

/** Warms the process behind `targets`, then measures each of them. */
async function measureTargets(emulator: EmulatorProcess, targets: LinkTarget[]): Promise<LinkRow[]> {
  await warmUp(emulator, targets);
  const rows: LinkRow[] = [];
  for (const target of targets) rows.push(await measureLinks(emulator, target));
  return rows;
}

/** Starts a server, warms it, measures its floor (when named) and its rows, stops it. */
function measureServer(
  emulator: EmulatorProcess,
  start: Promise<ServerProcess>,
  makeTargets: (server: ServerProcess) => LinkTarget[],
  floors: { specs: FloorSpec[]; into: Map<string, LoadResult> } = { specs: [], into: new Map() },
): Promise<LinkRow[]> {
  return withServer(start, async (server) => {
    const targets = makeTargets(server);
    await warmUp(emulator, targets);
    for (const spec of floors.specs) floors.into.set(spec.name, await measureFloor(server.url, spec.headers));
    const rows: LinkRow[] = [];
    for (const target of targets) rows.push(await measureLinks(emulator, target));
    return rows;
  });
}

async function main() {
  const startedAt = Date.now();
  const loadBefore = loadLine();
  log('starting the emulator host and minting tokens');
  const emulator = await EmulatorProcess.start(TENANT);
  try {
    const tokens = await mintTokens(emulator);
    const [aliceToken] = await emulator.userAccessTokens([DEMO.users.alice]);
    const floors = new Map<string, LoadResult>();
    const origin = emulator.origin;
    const rows = [
      ...(await measureTargets(emulator, directTargets(emulator, tokens))),
      ...(await measureServer(
        emulator,
        startGatewayProcess(origin, { ADMIN_LINK_POLICY: 'trust' }),
        (gw) => [
          gatewayTarget('2a', '(2a) gateway, jwt', gw, tokens, 'jwt'),
          gatewayTarget('2b', '(2b) gateway, admin, ADMIN_LINK_POLICY=trust', gw, tokens, 'admin'),
        ],
        {
          specs: [
            { name: 'gateway', headers: JSON_HEADERS },
            { name: 'gateway with a user bearer (verified)', headers: bearer(aliceToken) },
          ],
          into: floors,
        },
      )),
      ...(await measureServer(emulator, startGatewayProcess(origin), (gw) => [
        gatewayTarget('2c', '(2c) gateway, admin, verified-email (default)', gw, tokens, 'admin'),
      ])),
      ...(await measureServer(
        emulator,
        startMinimalServer(origin),
        (hand) => [
          minimalTarget('3a', '(3a) Apollo + fetch by hand, service token', hand, tokens, 'admin'),
          minimalTarget('3b', '(3b) Apollo + fetch by hand, user token + link_with', hand, tokens, 'jwt'),
        ],
        { specs: [{ name: 'hand-written', headers: JSON_HEADERS }], into: floors },
      )),
    ];

    const bursts = [
      await measureBurst(emulator, 'AUTH0_RATE_LIMIT=50/20', { AUTH0_RATE_LIMIT: '50/20' }, tokens),
      await measureBurst(emulator, 'learned from x-ratelimit-* headers', {}, tokens),
    ];
    const rss = await measureRss(emulator, aliceToken);
    const replicas = await measureReplicas(emulator);

    const floorText = [...floors]
      .map(([name, r]) => `${name} p50 ${fixed(r.p50Ms)} ms, p99 ${fixed(r.p99Ms)} ms`)
      .join('; ');
    const out = [
      `auth0-link-gateway benchmark — ${new Date().toISOString()}`,
      `machine: ${machineLine()}`,
      `before the run: ${loadBefore}; after: ${loadLine()}`,
      'everything on 127.0.0.1: load generator (this process), emulator and server under test in child processes',
      '',
      `Link (1 Auth0 call unless noted): each server warmed with ${SERVER_WARMUP_LINKS} links per mode; per row`,
      `${PHASE.warmup} warm-up links, ${PHASE.single} at c=1, then ${PHASE.concurrent} at c=${CONCURRENCY}, each on a fresh secondary`,
      linkTable(rows),
      `HTTP + Apollo floor at c=1, \`{ __typename }\`, no Auth0 call: ${floorText}`,
      '',
      burstTable(bursts),
      '',
      replicasTable(replicas),
      '',
      rssTable(rss),
      `(${RSS.requests} \`me\` queries at c=${RSS.concurrency}: ${int(rss.result.perSecond)}/s, failures ${countsText(rss.result.failures)})`,
      '',
      'Targets (issue 6):',
      formatTable(
        ['target', 'figure', ''],
        targets(rows, bursts, rss).map((t) => [t.text, t.figure, verdict(t.met)]),
        ['l', 'l', 'l'],
      ),
      ...(incidents.length > 0 ? ['', 'Incidents:', ...incidents] : []),
      '',
      `bench took ${fixed((Date.now() - startedAt) / 1000, 0)} s`,
    ];
    console.log(out.join('\n'));
  } finally {
    await emulator.close();
  }
}

main().catch((error: unknown) => {
  console.error('bench failed:', error);
  process.exitCode = 1;
});
