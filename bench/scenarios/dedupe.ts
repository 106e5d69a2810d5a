// The duplicate clean-up at scale (issue 26): an emulator of its own holding 20,000 users of which
// 3,000 pairs share a verified email, at Auth0's enterprise Management API limit (16/s, burst 50);
// `npm run dedupe -- plan` then `apply` as an operator runs them (the CLI in child processes, no
// gateway, no Redis), with AUTH0_RATE_LIMIT set to that limit. Figures: the plan's time, the
// apply's pace against the budget, the 429s Auth0 answered, and each process's peak RSS.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO, RATE_LIMIT_PLANS } from '../../src/auth0-emulator/index.js';
import type { DedupeReport } from '../../src/dedupe/apply.js';
import type { DedupePlan } from '../../src/dedupe/plan.js';
import { EmulatorProcess } from '../processes.js';
import type { DedupeTenantShape, ManagementStatuses } from '../protocol.js';
import { countsText, fixed, formatTable, mib } from '../report.js';
import type { BenchContext, Scenario, Target } from './scenario.js';

/** BENCH_DEDUPE_SHAPE=<users>/<groups> runs a smaller tenant (a quick check of the scenario itself). */
function shape(): DedupeTenantShape {
  const match = /^(\d+)\/(\d+)$/.exec(process.env.BENCH_DEDUPE_SHAPE ?? '');
  return match ? { users: Number(match[1]), groups: Number(match[2]) } : { users: 20_000, groups: 3_000 };
}
const SHAPE = shape();
const PLAN = 'enterprise';
const LIMIT = RATE_LIMIT_PLANS[PLAN];
const TARGET = { budgetRatio: 0.95, peakBytes: 200 * 2 ** 20 };
/** The emulator checks each seeded identity against every user before it: 20,000 take a while. */
const SEED_TIMEOUT_MS = 300_000;
const CLI = fileURLToPath(new URL('../../src/dedupe/cli.js', import.meta.url));
/**
 * Loaded before the CLI: at exit, writes the process's peak resident set size (getrusage's
 * ru_maxrss, kB on Linux) to BENCH_MAXRSS_FILE. Exit handlers run on process.exit as well.
 */
const MAXRSS_PRELOAD =
  'data:text/javascript,' +
  encodeURIComponent(
    "import { writeFileSync } from 'node:fs';" +
      "process.on('exit', () => writeFileSync(process.env.BENCH_MAXRSS_FILE, String(process.resourceUsage().maxRSS * 1024)));",
  );

interface CliRun {
  code: number | null;
  seconds: number;
  peakBytes: number | null;
  stdout: string;
  stderr: string;
}

function runCli(dir: string, origin: string, args: string[]): Promise<CliRun> {
  const rssFile = join(dir, `maxrss-${args[0]}`);
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [`--import=${MAXRSS_PRELOAD}`, CLI, ...args], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      AUTH0_DOMAIN: origin,
      AUTH0_CLIENT_ID: DEMO.serviceClientId,
      AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
      AUTH0_RATE_LIMIT: `${LIMIT.perSecond}/${LIMIT.burst}`,
      LOG_LEVEL: 'warn',
      BENCH_MAXRSS_FILE: rssFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      let peakBytes: number | null = null;
      try {
        peakBytes = Number(readFileSync(rssFile, 'utf8'));
      } catch {
        // The process died before its exit handler ran: no figure.
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ code, seconds, peakBytes, stdout, stderr });
    }),
  );
}

const fail = (what: string, run: CliRun) =>
  new Error(`dedupe ${what} exited ${run.code}:\n${run.stdout}\n${run.stderr.slice(-2000)}`);

async function run(ctx: BenchContext) {
  ctx.log(`dedupe: starting an emulator with ${SHAPE.users} users, ${SHAPE.groups} duplicate pairs`);
  const seeding = Date.now();
  const emulator = await EmulatorProcess.start(
    { primaries: 0, secondaries: 0, dedupe: SHAPE, plan: PLAN },
    SEED_TIMEOUT_MS,
  );
  ctx.log(`dedupe: emulator seeded in ${fixed((Date.now() - seeding) / 1000, 1)} s`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-dedupe-'));
  try {
    await emulator.managementTally(true);
    const planRun = await runCli(dir, emulator.origin, ['plan', '--out', 'plan.json']);
    if (planRun.code !== 0) throw fail('plan', planRun);
    const planCalls = await emulator.managementTally(false);
    const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as DedupePlan;
    ctx.log(
      `dedupe: plan in ${fixed(planRun.seconds)} s (${plan.source}), ${plan.totals.links} links to make`,
    );

    await emulator.managementTally(true);
    ctx.log(
      `dedupe: apply at ${LIMIT.perSecond}/s (about ${Math.round(plan.estimate.seconds ?? 0)} s estimated)`,
    );
    const applyRun = await runCli(dir, emulator.origin, ['apply', 'plan.json']);
    const calls: ManagementStatuses = await emulator.managementTally(false);
    let report: DedupeReport;
    try {
      report = JSON.parse(readFileSync(join(dir, 'dedupe-report.json'), 'utf8')) as DedupeReport;
    } catch {
      throw fail('apply', applyRun);
    }
    return summarise(plan, planRun, planCalls, report, applyRun, calls);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await emulator.close();
  }
}

function summarise(
  plan: DedupePlan,
  planRun: CliRun,
  planCalls: ManagementStatuses,
  report: DedupeReport,
  applyRun: CliRun,
  calls: ManagementStatuses,
) {
  const pairs = report.totals.pairs;
  const callsPerPair = calls.total / pairs;
  const linksPerSecond = report.totals.linked / applyRun.seconds;
  // The budget in links per second at the calls a pair really took.
  const budgetLinksPerSecond = LIMIT.perSecond / callsPerPair;
  const ratio = linksPerSecond / budgetLinksPerSecond;
  const tooMany = (planCalls.byStatus['429'] ?? 0) + (calls.byStatus['429'] ?? 0);
  const peak = Math.max(planRun.peakBytes ?? Infinity, applyRun.peakBytes ?? Infinity);
  const table = formatTable(
    [
      `dedupe, ${SHAPE.users} users, ${plan.totals.groups} groups, Auth0 ${PLAN} ${LIMIT.perSecond}/s burst ${LIMIT.burst}`,
      'wall s',
      'Auth0 calls',
      'answers',
      'peak RSS MiB',
      'result',
    ],
    [
      [
        `plan (${plan.source})`,
        fixed(planRun.seconds),
        String(planCalls.total),
        countsText(planCalls.byStatus),
        mib(planRun.peakBytes),
        `${plan.totals.users} users, ${plan.totals.unverifiedUsers} unverified, ${plan.totals.links} links`,
      ],
      [
        'apply',
        fixed(applyRun.seconds),
        String(calls.total),
        countsText(calls.byStatus),
        mib(applyRun.peakBytes),
        `linked ${report.totals.linked}, skipped ${report.totals.skipped}, failed ${report.totals.failed}`,
      ],
    ],
  );
  const lines = [
    table,
    `apply: ${fixed(linksPerSecond)} links/s at ${fixed(callsPerPair)} Auth0 calls per pair; ` +
      `the budget allows ${fixed(budgetLinksPerSecond)} links/s (${LIMIT.perSecond} calls/s): ${fixed(ratio)}× the budget`,
    `the plan estimated ${plan.estimate.auth0Calls} calls, ${plan.estimate.seconds ?? '?'} s; ` +
      `apply took ${calls.total} calls, ${fixed(applyRun.seconds, 0)} s`,
  ];
  const targets: Target[] = [
    {
      text: `dedupe: every pair linked`,
      figure: `${report.totals.linked}/${pairs} (${countsText(countBy(report.failed.map((f) => f.code)))})`,
      met: report.totals.linked === pairs && pairs === SHAPE.groups,
    },
    {
      text: `dedupe: apply ≥ ${TARGET.budgetRatio}× the budget in links/s`,
      figure: `${fixed(ratio)}×`,
      met: ratio >= TARGET.budgetRatio,
    },
    { text: 'dedupe: no 429 from Auth0 (plan and apply)', figure: `${tooMany} × 429`, met: tooMany === 0 },
    {
      text: `dedupe: peak RSS of plan and apply < ${mib(TARGET.peakBytes)} MiB`,
      figure: `${mib(planRun.peakBytes)} / ${mib(applyRun.peakBytes)} MiB`,
      met: peak < TARGET.peakBytes,
    },
  ];
  return { lines, targets };
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** About half an hour (the seed, then 21,000 calls at 16/s): only when named. */
export const dedupe: Scenario = { name: 'dedupe', run, onlyWhenNamed: true };
