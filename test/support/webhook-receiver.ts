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
      const failure = failures.shift();
      if (failure !== undefined) {
        request.resume();
        request.on('end', () => response.writeHead(failure).end());
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
    waitForEvents: (count, timeoutMs = 10_000) =>
      waitFor(async () => events.length >= count, timeoutMs, `${count} verified webhook event(s)`),
    clear() {
      requests.length = 0;
      events.length = 0;
      failures.length = 0;
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

/** One sample of a Prometheus text exposition (`name` with the labels given, summed), 0 when absent. */
export function sampleOf(metricsText: string, name: string): number {
  return metricsText
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** `/metrics` of a gateway at `origin`. */
export async function metricsOf(origin: string): Promise<string> {
  return (await fetch(`${origin}/metrics`)).text();
}
