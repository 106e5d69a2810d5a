// A webhook receiver on 127.0.0.1 for tests: the project's example receiver (examples/
// webhook-receiver.ts, the code the docs show) behind a switch that can answer failures first.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webhookReceiver, type AccountEvent } from '../../examples/webhook-receiver.js';
import { waitFor } from './gateway-process.js';

export interface ReceivedRequest {
  webhookId: string;
  /** What the receiver answered. */
  status: number;
  body: string;
}

export interface TestReceiver {
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: ReceivedRequest[];
  /** Events whose signature verified, in arrival order. */
  readonly events: { webhookId: string; event: AccountEvent }[];
  /** Answers these statuses (unverified) to the next requests, one each. */
  failNext(...statuses: number[]): void;
  /** Answers `status` (unverified) to every request until `recover()` (a receiver that is down). */
  failAll(status: number): void;
  recover(): void;
  /**
   * Holds every request unanswered until `release()` (a receiver that hangs), counting the
   * requests held at once.
   */
  hold(): void;
  /** Answers the held requests (verified, as usual) and stops holding. */
  release(): void;
  /** Requests held right now. */
  readonly held: number;
  /** The most requests held at once since `hold()`. */
  readonly mostHeld: number;
  /** Resolves once `count` events verified. */
  waitForEvents(count: number, timeoutMs?: number): Promise<void>;
  clear(): void;
  /** Stops listening (deliveries then fail with a refused connection); `start` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A fresh Standard Webhooks secret. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export async function startTestReceiver(
  secret: string,
  options: { listening?: boolean } = {},
): Promise<TestReceiver> {
  const requests: ReceivedRequest[] = [];
  const events: TestReceiver['events'] = [];
  const failures: number[] = [];
  let failing: number | undefined;
  let holding = false;
  let mostHeld = 0;
  const heldRequests: (() => void)[] = [];
  const verify = webhookReceiver(secret, (event, webhookId) => events.push({ webhookId, event }));
  let server: Server | undefined;
  let port = 0;

  const listen = async () => {
    const next = createServer((request, response) => {
      const webhookId = String(request.headers['webhook-id']);
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('finish', () =>
        requests.push({
          webhookId,
          status: response.statusCode,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      const failure = failures.shift() ?? failing;
      if (failure !== undefined) {
        request.resume();
        request.on('end', () => response.writeHead(failure).end());
        return;
      }
      if (holding) {
        // Verified once released: the body is read then (a paused request keeps its chunks).
        request.pause();
        const answer = () => {
          request.resume();
          verify(request, response);
        };
        heldRequests.push(answer);
        mostHeld = Math.max(mostHeld, heldRequests.length);
        // A request the sender gave up on (its timeout) is held no more.
        response.on('close', () => {
          const index = heldRequests.indexOf(answer);
          if (index >= 0) heldRequests.splice(index, 1);
        });
        return;
      }
      verify(request, response);
    });
    await new Promise<void>((resolve) => next.listen(port, '127.0.0.1', resolve));
    port = (next.address() as AddressInfo).port;
    server = next;
  };
  await listen();
  const receiver: TestReceiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    events,
    failNext: (...statuses) => failures.push(...statuses),
    failAll: (status) => (failing = status),
    recover: () => (failing = undefined),
    hold() {
      holding = true;
      mostHeld = 0;
    },
    release() {
      holding = false;
      for (const answer of heldRequests.splice(0)) answer();
    },
    get held() {
      return heldRequests.length;
    },
    get mostHeld() {
      return mostHeld;
    },
    waitForEvents: (count, timeoutMs = 10_000) =>
      waitFor(async () => events.length >= count, timeoutMs, `${count} verified webhook event(s)`),
    clear() {
      requests.length = 0;
      events.length = 0;
      failures.length = 0;
      failing = undefined;
    },
    async stop() {
      const running = server;
      server = undefined;
      if (!running) return;
      running.closeAllConnections();
      await new Promise<void>((resolve) => running.close(() => resolve()));
    },
    async start() {
      if (!server) await listen();
    },
  };
  if (options.listening === false) await receiver.stop();
  return receiver;
}

/**
 * One metric of a Prometheus text exposition, its samples summed over their labels. Throws when
 * the exposition does not declare it, so a metric that went missing fails the test instead of
 * reading 0. A declared counter with no sample yet (no label set seen) reads 0. `name` may carry
 * one label set (`x_total{operation="link"}`): then only that sample counts.
 */
export function sampleOf(metricsText: string, name: string): number {
  const lines = metricsText.split('\n');
  const metric = name.split('{')[0];
  if (!lines.some((line) => line.startsWith(`# TYPE ${metric} `))) {
    throw new Error(`metric ${name} is not in /metrics`);
  }
  return lines
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** `/metrics` of a gateway at `origin`. */
export async function metricsOf(origin: string): Promise<string> {
  return (await fetch(`${origin}/metrics`)).text();
}
