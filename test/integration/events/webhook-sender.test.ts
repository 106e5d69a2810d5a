// One delivery attempt (src/events/webhook-delivery.ts) against receivers on 127.0.0.1: what counts
// as a failed attempt (no answer within the timeout, a redirect), the time each attempt is signed
// with, and an attempt cut when delivery stops.
import { getEventListeners } from 'node:events';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { createWebhookSender, WEBHOOK_TIMEOUT_MS } from '../../../src/events/webhook-delivery.js';
import { newWebhookSecret } from '../../support/webhook-receiver.js';

const secret = newWebhookSecret();
const message = {
  webhookId: 'msg_0123456789abcdef0123456789abcdef',
  primaryId: 'auth0|p',
  // The event happened long before its attempts.
  body: '{"type":"account.linked","timestamp":"2020-01-01T00:00:00.000Z","data":{}}',
};

// Only Date is faked: sockets and timers run for real.
const REAL_TIMERS = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

describe('a webhook delivery attempt (receivers on 127.0.0.1)', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    jest.useRealTimers();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    }
  });

  /** A receiver answering with `listener`; resolves with its URL and the headers it was sent. */
  const receiver = async (listener: RequestListener) => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      listener(request, response);
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, seen };
  };

  it('counts no answer within the timeout as a failed attempt (10 s in the gateway)', async () => {
    const silent = await receiver(() => undefined);
    const attempt = createWebhookSender({ url: silent.url, secret, timeoutMs: 300 });

    expect(await attempt(message, 1)).toEqual({ ok: false, error: 'timeout' });
    expect(silent.seen).toHaveLength(1);
    expect(WEBHOOK_TIMEOUT_MS).toBe(10_000);
  });

  it('counts a redirect as a failed attempt and does not follow it', async () => {
    const target = await receiver((_request, response) => response.writeHead(204).end());
    const moved = await receiver((_request, response) =>
      response.writeHead(302, { location: target.url }).end(),
    );
    const attempt = createWebhookSender({ url: moved.url, secret, timeoutMs: 2000 });

    expect(await attempt(message, 1)).toEqual({ ok: false, error: 'HTTP 302' });
    expect(target.seen).toHaveLength(0);
  });

  it('signs each attempt with the time of that attempt, not the event’s', async () => {
    const ok = await receiver((_request, response) => response.writeHead(204).end());
    const attempt = createWebhookSender({ url: ok.url, secret, timeoutMs: 2000 });
    const first = Date.UTC(2026, 11, 6, 10, 0, 0);
    const second = first + 3_600_000;

    jest.useFakeTimers({ doNotFake: [...REAL_TIMERS], now: first });
    expect(await attempt(message, 1)).toEqual({ ok: true, status: 204 });
    jest.setSystemTime(second);
    expect(await attempt(message, 2)).toEqual({ ok: true, status: 204 });

    expect(ok.seen.map((headers) => Number(headers['webhook-timestamp']))).toEqual([
      first / 1000,
      second / 1000,
    ]);
    ok.seen.forEach((headers, i) => {
      const verifier = new Webhook(secret);
      const signedAt = new Date([first, second][i]);
      expect(headers['webhook-signature']).toBe(verifier.sign(message.webhookId, signedAt, message.body));
      expect(headers['webhook-id']).toBe(message.webhookId);
    });
  });

  it('aborts an attempt in flight when delivery stops, and leaves no listener on the stop signal', async () => {
    const silent = await receiver(() => undefined);
    const attempt = createWebhookSender({ url: silent.url, secret, timeoutMs: 5000 });
    const stopping = new AbortController();
    const ok = await receiver((_request, response) => response.writeHead(204).end());
    const quick = createWebhookSender({ url: ok.url, secret, timeoutMs: 5000 });

    for (let i = 1; i <= 3; i += 1) await quick(message, i, stopping.signal);
    expect(getEventListeners(stopping.signal, 'abort')).toHaveLength(0);

    const cut = attempt(message, 1, stopping.signal);
    expect(getEventListeners(stopping.signal, 'abort')).toHaveLength(1);
    stopping.abort();
    expect(await cut).toEqual({ ok: false, error: 'aborted' });
    expect(getEventListeners(stopping.signal, 'abort')).toHaveLength(0);
  });
});
