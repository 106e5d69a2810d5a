// `npm run dedupe -- plan …` and `npm run dedupe -- apply …` (DESIGN §16). Reads the gateway's own
// configuration (environment and .env: AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET,
// AUTH0_RATE_LIMIT, REDIS_URL, WEBHOOK_URL …), so it uses the same tenant budget, locks and events.
// Exit codes: 0 done, 1 some pair failed or the run could not start, 2 usage, 130 stopped by SIGINT.
import 'reflect-metadata';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { ConfigError, loadConfig, loadDotEnv, type Config } from '../config.js';
import { GatewayError } from '../errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { applyPlan, StateMismatchError, type DedupeReport } from './apply.js';
import { startDedupeJob } from './job-context.js';
import {
  buildPlan,
  parsePlan,
  parsePrimaryRule,
  serializePlan,
  type DedupePlan,
  type PrimaryRule,
} from './plan.js';
import { readTenantUsers } from './read-tenant-users.js';
import { createProgressReporter, formatDuration, renderTable } from './terminal.js';

export const HELP = `Links the duplicate users a tenant already has (same verified email), in two steps.

usage:
  npm run dedupe -- plan --out plan.json [--primary RULE]
  npm run dedupe -- apply plan.json [--merge-metadata] [--carry-roles] [--carry-organizations]
                                    [--state FILE] [--report FILE] [--dry-run] [--max-rate N]

plan    Reads every user (GET /api/v2/users while the tenant has at most 1000, else a
        users-export job), groups users whose email is verified by the lowercased email
        (unverified emails are never grouped), picks one primary per group and writes the
        plan (JSON, the same bytes for the same tenant) plus a summary table. Change nothing.
  --out FILE         where the plan goes (required)
  --primary RULE     oldest (default: earliest created_at), most-logins, last-login,
                     or connection:<name> (the user whose main identity is on <name>);
                     ties go to the older user, then the smaller user_id

apply   Links each secondary of the plan into its primary through the gateway's link core
        (lock, read-back, events, audit, the tenant budget shared over REDIS_URL). Each pair
        is re-checked just before its link (both users exist, both still have the plan's
        email verified, the secondary is standalone); otherwise it is skipped with a reason.
  --merge-metadata   merge the secondary's user_metadata and app_metadata into the primary
  --carry-roles      give the primary the secondary's directly assigned roles it lacks
  --carry-organizations
                     give the primary the secondary's organization memberships (and their
                     roles) it lacks
  --state FILE       each pair's outcome, rewritten after every pair (default dedupe-state.json);
                     running apply again resumes: linked and skipped pairs are not touched again,
                     failed ones are retried
  --report FILE      the report: linked (with each linkId), skipped, failed, pending
                     (default dedupe-report.json)
  --dry-run          re-check every pair and write the report; link nothing, write no state
  --max-rate N       start at most N pairs per second (below the tenant budget)
  Ctrl-C             finishes the links in flight, saves the state and exits 130.

Configuration: the gateway's environment (.env read): AUTH0_DOMAIN, AUTH0_CLIENT_ID,
AUTH0_CLIENT_SECRET (read:users, update:users), AUTH0_RATE_LIMIT, REDIS_URL, WEBHOOK_URL, LOG_LEVEL
(default warn here). See docs/dedupe.md.`;

class UsageError extends Error {}

function readConfig(): Config {
  loadDotEnv();
  return loadConfig(process.env);
}

function jobLogger(): Logger {
  // Logs go to stderr: stdout carries the tables. Audit lines (one per link) need LOG_LEVEL=info.
  return createLogger({
    level: process.env.LOG_LEVEL || 'warn',
    destination: pino.destination({ fd: 2, sync: true }),
  });
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

interface PlanOptions {
  out: string;
  primary: PrimaryRule;
}

async function runPlan(values: PlanOptions): Promise<number> {
  const rule = values.primary;
  const config = readConfig();
  const logger = jobLogger();
  const job = await startDedupeJob(config, logger);
  try {
    const tenant = await readTenantUsers(job.api('dedupe-plan'), {
      onProgress: ({ users, source, job: exportJob }) => {
        if (exportJob) process.stderr.write(`dedupe: users-export job ${exportJob}\n`);
        else if (users > 0 && users % 10_000 === 0)
          process.stderr.write(`dedupe: ${users} users read (${source})\n`);
      },
    });
    const plan = buildPlan(tenant.users, {
      tenant: config.auth0.origin,
      rule,
      source: tenant.source,
      callsPerSecond: config.auth0.rateLimit?.perSecond ?? null,
      undoRecords: config.linkUndoWindowMs > 0,
    });
    await writeAtomically(values.out, serializePlan(plan));
    console.log(planSummary(plan, values.out));
    return 0;
  } finally {
    await job.close();
  }
}

export function planSummary(plan: DedupePlan, path: string): string {
  const { totals, estimate } = plan;
  return renderTable(`Plan written to ${path}`, [
    ['tenant', plan.tenant],
    ['read with', plan.source],
    ['primary rule', plan.primaryRule],
    ['users', totals.users],
    ['unverified (not grouped)', totals.unverifiedUsers],
    ['duplicate groups', totals.groups],
    ['links to make', totals.links],
    ['Auth0 calls (apply)', estimate.auth0Calls],
    [
      'time at the budget',
      estimate.seconds === null
        ? 'learned from Auth0 (AUTH0_RATE_LIMIT unset)'
        : formatDuration(estimate.seconds),
    ],
  ]);
}

export function reportSummary(report: DedupeReport, path: string): string {
  const reasons = new Map<string, number>();
  for (const { reason } of report.skipped) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  for (const { code, reason } of report.failed) {
    const key = `failed ${code}${reason ? ` ${reason}` : ''}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  return renderTable(`${report.dryRun ? 'Dry run: report' : 'Report'} written to ${path}`, [
    ['pairs', report.totals.pairs],
    [report.dryRun ? 'would link' : 'linked', report.totals.linked],
    ['skipped', report.totals.skipped],
    ['failed', report.totals.failed],
    ['pending', report.totals.pending],
    ...[...reasons]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([reason, n]): [string, number] => [`  ${reason}`, n]),
  ]);
}

interface ApplyCliOptions {
  mergeMetadata: boolean;
  carryRoles: boolean;
  carryOrganizations: boolean;
  state: string;
  report: string;
  dryRun: boolean;
  maxRate?: number;
}

async function runApply(planPath: string, values: ApplyCliOptions): Promise<number> {
  const maxRate = values.maxRate ?? null;
  let planText: string;
  try {
    planText = await readFile(planPath, 'utf8');
  } catch (error) {
    throw new UsageError(`apply: cannot read ${planPath}: ${(error as Error).message}`);
  }
  let plan: DedupePlan;
  try {
    plan = parsePlan(planText);
  } catch (error) {
    throw new UsageError(`apply: ${planPath}: ${(error as Error).message}`);
  }
  const config = readConfig();
  if (plan.tenant !== config.auth0.origin) {
    throw new UsageError(`apply: the plan is of ${plan.tenant}, AUTH0_DOMAIN is ${config.auth0.origin}`);
  }

  const stop = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    // A second Ctrl-C does not wait: the state file is whole at every moment.
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\ndedupe: stopping after the links in flight (Ctrl-C again to quit now)\n');
    stop.abort();
  };
  process.on('SIGINT', onSigint);

  const logger = jobLogger();
  const job = await startDedupeJob(config, logger);
  const progress = createProgressReporter(process.stderr);
  let report: DedupeReport;
  try {
    report = await applyPlan(job, {
      planText,
      plan,
      mergeMetadata: values.mergeMetadata,
      carry: { roles: values.carryRoles, organizations: values.carryOrganizations },
      statePath: values.state,
      dryRun: values.dryRun,
      maxRatePerSecond: maxRate,
      stop: stop.signal,
      onProgress: (p) => progress.update(p),
      logger,
    });
  } catch (error) {
    if (error instanceof StateMismatchError) throw new UsageError(`apply: ${error.message}`);
    throw error;
  } finally {
    progress.end();
    await job.close();
  }
  await writeAtomically(values.report, `${JSON.stringify(report, null, 2)}\n`);
  console.log(reportSummary(report, values.report));
  if (interrupted) {
    process.stderr.write(`dedupe: stopped; run the same apply again to resume (state: ${values.state})\n`);
    return 130;
  }
  return report.totals.failed > 0 ? 1 : 0;
}

function primaryRule(value: string): PrimaryRule {
  const rule = parsePrimaryRule(value);
  if (rule === null) {
    throw new InvalidArgumentError('Use oldest, most-logins, last-login or connection:<name>.');
  }
  return rule;
}

function maxRate(value: string): number {
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate <= 0)
    throw new InvalidArgumentError('Give a number of pairs per second above 0.');
  return rate;
}

/**
 * The command line (commander): parsing, validation and usage errors. `--help` anywhere prints
 * the one help text above (it explains both commands) on stdout. Usage errors are written to
 * stderr as `dedupe: …` and exit 2; `code` receives the command's own exit code.
 */
function dedupeProgram(code: { value: number }): Command {
  const program = new Command('dedupe')
    .exitOverride()
    .configureHelp({ formatHelp: () => `${HELP}\n` })
    .configureOutput({ outputError: (text, write) => write(`dedupe: ${text.replace(/^error: /, '')}`) })
    .helpCommand('help [command]', 'this help')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(npm run dedupe -- --help)');
  program
    .command('plan')
    .description('read the tenant and write the plan (changes nothing)')
    .requiredOption('--out <file>', 'where the plan goes')
    .option('--primary <rule>', 'oldest, most-logins, last-login or connection:<name>', primaryRule, {
      kind: 'oldest',
    } as PrimaryRule)
    .action(async (options: PlanOptions) => {
      code.value = await runPlan(options);
    });
  program
    .command('apply')
    .description("link each pair of the plan through the gateway's link core")
    .argument('<plan>', 'the plan file')
    .option('--merge-metadata', "merge the secondary's user_metadata and app_metadata", false)
    .option('--carry-roles', "give the primary the secondary's roles it lacks", false)
    .option('--carry-organizations', "give the primary the secondary's memberships it lacks", false)
    .option('--state <file>', "each pair's outcome", 'dedupe-state.json')
    .option('--report <file>', 'the report', 'dedupe-report.json')
    .option('--dry-run', 're-check every pair and write the report; link nothing', false)
    .option('--max-rate <n>', 'start at most N pairs per second', maxRate)
    .action(async (planPath: string, options: ApplyCliOptions) => {
      code.value = await runApply(planPath, options);
    });
  return program;
}

async function run(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    // No command: the help, as a usage error.
    console.log(HELP);
    return 2;
  }
  const code = { value: 0 };
  try {
    await dedupeProgram(code).parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // The help asked for (`--help`, `help [plan|apply]`) exits 0; anything else commander refused
      // (`help frob` too, whose help goes to stderr) is a usage error.
      const help = error.code === 'commander.helpDisplayed' || error.code === 'commander.help';
      return help && error.exitCode === 0 ? 0 : 2;
    }
    throw error;
  }
  return code.value;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`dedupe: ${error.message}`);
      process.exit(2);
    }
    if (error instanceof ConfigError) console.error(`dedupe: ${error.message}`);
    else if (error instanceof GatewayError) {
      console.error(`dedupe: ${error.code}${error.reason ? ` ${error.reason}` : ''}: ${error.message}`);
    } else console.error(`dedupe: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
