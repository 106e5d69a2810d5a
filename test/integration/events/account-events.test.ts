// What happens to an event around shutdown (review L7): one recorded after close() is logged at
// error level with its webhook-id, and events the in-memory outbox still holds at close are too.
import { Writable } from 'node:stream';
import { DEMO } from '../../../src/auth0-emulator/index.js';
import { loadConfig } from '../../../src/config.js';
import { toAccountEvent } from '../../../src/events/account-event.js';
import { startAccountEvents } from '../../../src/events/account-events.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { freePort } from '../../support/redis-server.js';
import { newWebhookSecret } from '../../support/webhook-receiver.js';

const event = (primaryId: string) =>
  toAccountEvent('account.linked', {
    primaryId,
    secondary: 'github|4031337',
    mode: 'admin',
    callerSubject: 'backend@clients',
    mergedMetadata: null,
    reconciled: false,
  });

describe('account events around close() (in-memory outbox, nothing listening at WEBHOOK_URL)', () => {
  it('logs at error level, with their webhook-ids, the events held at close and one recorded after it', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
            lines.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      }),
    });
    const config = loadConfig({
      AUTH0_DOMAIN: 'http://127.0.0.1:1',
      AUTH0_CLIENT_ID: DEMO.serviceClientId,
      AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
      // Refused at once; the retry waits an hour, so the event is still held at close.
      WEBHOOK_URL: `http://127.0.0.1:${await freePort()}/hooks`,
      WEBHOOK_SECRET: newWebhookSecret(),
      WEBHOOK_RETRY_DELAYS: '1h',
    });
    const events = await startAccountEvents(config, {
      logger,
      metrics: createMetrics({ defaultMetrics: false }),
    });

    await events.record(event('auth0|held'), 'msg_held');
    await events.close();
    await events.record(event('auth0|late'), 'msg_late');

    const errors = lines.filter((line) => line.level === 50);
    expect(errors).toEqual([
      expect.objectContaining({ lost: 1, webhookIds: ['msg_held'] }),
      expect.objectContaining({ webhookId: 'msg_late', type: 'account.linked' }),
    ]);
    expect(JSON.stringify(errors)).not.toContain('github|4031337');
  });
});
