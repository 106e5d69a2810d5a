// Links under load while a Redis master is killed (issue 27): the scenario the cluster and the
// Sentinel suites share. Three gateway replicas, 20 callers (two per primary) linking secondaries
// with metadata merges into one key both callers of a primary change, the master killed once a
// share of the links have answered. It returns what happened; the suites assert on it.
import { performance } from 'node:perf_hooks';
import { startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { adminLink, identitiesInTenant, type Answer } from './account-mutations.js';
import { startGatewayProcess, waitFor, type GatewayProcess } from './gateway-process.js';
import { newWebhookSecret, startTestReceiver, type TestReceiver } from './webhook-receiver.js';

export const FAILOVER_PRIMARIES = 10;
export const FAILOVER_CALLERS_PER_PRIMARY = 2;
export const FAILOVER_LINKS_PER_CALLER = 6;
export const FAILOVER_CALLERS = FAILOVER_PRIMARIES * FAILOVER_CALLERS_PER_PRIMARY;
const TOTAL = FAILOVER_CALLERS * FAILOVER_LINKS_PER_CALLER;
/** The master is killed once this many links have answered. */
const KILL_AFTER = Math.round(TOTAL * 0.3);

const primaryId = (p: number) => `auth0|65f00000000000000000fo${String(p).padStart(2, '0')}`;
const secondaryId = (n: number) => `github|88${String(n).padStart(4, '0')}`;
const userKey = (n: number) => `k${n}`;
const prefsKey = (n: number) => `s${n}`;

export interface FailoverRun {
  emulator: Auth0Emulator;
  receiver: TestReceiver;
  gateways: GatewayProcess[];
  answers: { primary: number; secondary: number; answer: Answer; beforeKill: boolean }[];
  /** Answers that are not a success, by `code/reason`. */
  errors: Record<string, number>;
  /** Secondaries whose answer disagrees with the tenant's final state, with why. */
  disagreements: string[];
  /** Linked secondaries whose merged metadata is missing from their primary. */
  lostMetadata: string[];
  /** Links Auth0 applied (its journal's 201s), and the webhook ids the receiver got for them. */
  applied: number;
  acknowledgedBeforeKill: number;
  deliveredOfThose: number;
  duplicates: number;
  /** From the kill until the failover was complete (the Redis side). */
  secondsWithoutMaster: number;
  /** The longest a replica said Redis was unreachable (its warnings' times), 0 when none did. */
  secondsWithoutRedis: number;
  /** Warnings the replicas logged about Redis. */
  redisWarnings: number;
  /** Each replica's Redis state warnings in order (`unreachable`, `reachable`). */
  redisStates: string[][];
  /** Seconds spent starting, linking, waiting for events. */
  phases: Record<string, number>;
  close(): Promise<void>;
}

export interface FailoverOptions {
  /** REDIS_* of the replicas (one shape). */
  redisEnv: Record<string, string>;
  /** Told the emulator's origin once it runs (the tenant's tag derives from it). */
  onStarted?: (emulatorOrigin: string) => void;
  /** Kills the master holding the tenant's keys; resolves once it is dead. */
  killMaster(): Promise<void>;
  /** Resolves once the Redis side has promoted a replica. */
  waitForFailover(): Promise<void>;
}

/** Starts the emulator, a receiver and three replicas, runs the links and kills the master once. */
export async function runLinksThroughFailover(options: FailoverOptions): Promise<FailoverRun> {
  const phaseStarted = performance.now();
  const phases: Record<string, number> = {};
  const lap = (name: string) =>
    (phases[name] = Number(((performance.now() - phaseStarted) / 1000).toFixed(1)));
  const emulator = await startAuth0Emulator({ port: 0 });
  options.onStarted?.(emulator.origin);
  const secret = newWebhookSecret();
  const receiver = await startTestReceiver(secret);
  const gateways: GatewayProcess[] = [];
  const close = async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await receiver.stop();
    await emulator.close();
  };
  try {
    for (let p = 0; p < FAILOVER_PRIMARIES; p++) {
      emulator.tenant.addUser({
        user_id: primaryId(p),
        email: `fo${p}@example.com`,
        email_verified: true,
        user_metadata: { own: p, prefs: { own: p } },
      });
    }
    for (let n = 0; n < TOTAL; n++) {
      emulator.tenant.addUser({
        user_id: secondaryId(n),
        email: `fo${n % FAILOVER_PRIMARIES}@example.com`,
        email_verified: true,
        user_metadata: { [userKey(n)]: `value ${n}`, prefs: { [prefsKey(n)]: n } },
      });
    }
    gateways.push(
      ...(await Promise.all(
        Array.from({ length: 3 }, () =>
          startGatewayProcess(emulator.origin, {
            ...options.redisEnv,
            ADMIN_LINK_POLICY: 'trust',
            LINK_UNDO_WINDOW: '0',
            CALLER_RATE_LIMIT: '1000000/60',
            AUTH0_MAX_WAIT_MS: '15000',
            // The emulator's own limit, configured: this scenario is about locks, merges and events
            // through a failover. A learned budget across the failover refused one link
            // TENANT_LIMIT in about one run in seven (not yet explained; see docs/replicas.md).
            AUTH0_RATE_LIMIT: '10000/10000',
            WEBHOOK_URL: receiver.url,
            WEBHOOK_SECRET: secret,
            WEBHOOK_RETRY_DELAYS: '100,200,400,800,1600',
          }),
        ),
      )),
    );
    lap('started');
    const tokens = await Promise.all(
      Array.from({ length: FAILOVER_CALLERS }, (_, c) =>
        emulator.tokens.adminToken({ sub: `fo-admin-${c}@clients`, scope: 'update:users' }),
      ),
    );

    const answers: FailoverRun['answers'] = [];
    let killed = false;
    let killedAt = 0;
    let failedOverAt = 0;
    let chaos: Promise<void> = Promise.resolve();
    let acknowledgedBeforeKill: string[] = [];
    await Promise.all(
      Array.from({ length: FAILOVER_CALLERS }, async (_, c) => {
        const p = c % FAILOVER_PRIMARIES;
        for (let k = 0; k < FAILOVER_LINKS_PER_CALLER; k++) {
          const n = c * FAILOVER_LINKS_PER_CALLER + k;
          const gateway = gateways[(c + k) % gateways.length];
          const answer = await adminLink(gateway.url, tokens[c], primaryId(p), secondaryId(n), true);
          answers.push({ primary: p, secondary: n, answer, beforeKill: !killed });
          if (!killed && answers.length >= KILL_AFTER) {
            killed = true;
            // The events of every link answered so far were acknowledged (kept) before the kill.
            acknowledgedBeforeKill = receiverIdsPending(answers);
            chaos = (async () => {
              killedAt = performance.now();
              await options.killMaster();
              await options.waitForFailover();
              failedOverAt = performance.now();
            })();
          }
        }
      }),
    );
    lap('linked');
    await chaos;
    await waitFor(
      async () => (await Promise.all(gateways.map((g) => g.readyz()))).every((r) => r.body.checks.redis),
      20_000,
      'every replica back on Redis',
    );

    const applied = emulator.journal.entries({ route: 'link' }).filter((e) => e.status === 201).length;
    await receiver.waitForEvents(applied, 20_000).catch(() => undefined);
    lap('delivered');

    const errors: Record<string, number> = {};
    const disagreements: string[] = [];
    const lostMetadata: string[] = [];
    for (const { primary, secondary, answer } of answers) {
      const linked =
        identitiesInTenant(emulator, primaryId(primary))?.includes(secondaryId(secondary)) ?? false;
      if (!answer.ok) {
        const why = `${answer.code}/${answer.reason ?? ''}`;
        errors[why] = (errors[why] ?? 0) + 1;
        if (answer.reason === 'NOT_APPLIED' && linked)
          disagreements.push(`${secondary}: NOT_APPLIED but linked`);
      } else if (!linked) {
        disagreements.push(`${secondary}: answered linked, not linked in the tenant`);
      }
      if (linked) {
        const user = emulator.tenant.getUser(primaryId(primary));
        const prefs = user?.user_metadata?.prefs as Record<string, unknown> | undefined;
        if (
          user?.user_metadata?.[userKey(secondary)] !== `value ${secondary}` ||
          prefs?.[prefsKey(secondary)] !== secondary
        ) {
          lostMetadata.push(`${secondary} into ${primary}`);
        }
      }
    }
    const linkedEvents = receiver.events.filter((e) => e.event.type === 'account.linked');
    const received = new Set(linkedEvents.map((e) => e.webhookId));
    const bySecondary = new Set(
      linkedEvents.map((e) =>
        e.event.type === 'account.linked' ? `${e.event.data.provider}|${e.event.data.userId}` : '',
      ),
    );
    const deliveredOfThose = acknowledgedBeforeKill.filter((id) => bySecondary.has(id)).length;
    const redisStates = gateways.map((g) =>
      g
        .logLines()
        .filter((line) => typeof line.redis === 'string')
        .map((line) => String(line.redis)),
    );
    const redisWarnings = redisStates.flat().length;
    const secondsWithoutRedis = Math.max(
      0,
      ...gateways.map((g) => {
        const times = g
          .logLines()
          .filter((line) => typeof line.redis === 'string')
          .map((line) => ({ state: String(line.redis), at: Date.parse(String(line.time)) }));
        const down = times.find((t) => t.state === 'unreachable');
        const back = times.find((t) => t.state === 'reachable' && down !== undefined && t.at >= down.at);
        return down && back ? (back.at - down.at) / 1000 : 0;
      }),
    );
    return {
      emulator,
      receiver,
      gateways,
      answers,
      errors,
      disagreements,
      lostMetadata,
      applied,
      acknowledgedBeforeKill: acknowledgedBeforeKill.length,
      deliveredOfThose,
      duplicates: linkedEvents.length - received.size,
      secondsWithoutMaster: (failedOverAt - killedAt) / 1000,
      secondsWithoutRedis,
      redisWarnings,
      redisStates,
      phases,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The secondaries (`<provider>|<id>`) of the links answered as made so far: their events were acknowledged. */
function receiverIdsPending(answers: FailoverRun['answers']): string[] {
  return answers.filter((a) => a.answer.ok).map((a) => secondaryId(a.secondary));
}

/** One line of counts for the suite's output (docs/replicas.md copies them). */
export function describeRun(label: string, run: FailoverRun): string {
  return (
    `${label}: ${run.answers.length} links (${run.answers.filter((a) => a.answer.ok).length} ok), ` +
    `errors ${JSON.stringify(run.errors)}, master killed after ${run.answers.filter((a) => a.beforeKill).length}; ` +
    `${run.secondsWithoutMaster.toFixed(1)} s until a replica was promoted, ` +
    `${run.secondsWithoutRedis.toFixed(1)} s without Redis (the longest a gateway said so); ` +
    `events: ${run.applied} applied, ${run.acknowledgedBeforeKill} acknowledged before the kill, ` +
    `${run.deliveredOfThose} of those delivered, ${run.duplicates} delivered twice; ` +
    `${run.redisWarnings} Redis state warnings logged ${JSON.stringify(run.redisStates)}; phases ${JSON.stringify(run.phases)}`
  );
}

/** The lines of a process's output that match `pattern`, for an assertion that names them. */
export function linesMatching(output: string, pattern: RegExp): string[] {
  return output.split('\n').filter((line) => pattern.test(line));
}
