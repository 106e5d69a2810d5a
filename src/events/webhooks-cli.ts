// `npm run webhooks -- dead` lists dead-lettered events; `npm run webhooks -- replay <webhook-id>`
// delivers one again (same webhook-id, a fresh signature) and forgets it once the receiver took it.
// Reads the gateway's own configuration (environment and .env), so it finds the same tenant's keys.
import { ConfigError, loadConfig, loadDotEnv, type Config } from '../config.js';
import { openRedis } from '../shared-state/redis-connection.js';
import { listDeadLetters, removeDeadLetter } from './dead-letters.js';
import { webhookKeys } from './redis-keys.js';
import { createWebhookSender, WEBHOOK_TIMEOUT_MS } from './webhook-delivery.js';

const USAGE = 'usage: npm run webhooks -- dead | replay <webhook-id>';

class UsageError extends Error {}

function readConfig(): Config {
  loadDotEnv();
  const config = loadConfig(process.env);
  if (config.webhook === null)
    throw new ConfigError('WEBHOOK_URL', 'is not set: the gateway sends no events');
  if (config.shared.redis === null) {
    throw new ConfigError(
      'REDIS_URL',
      'is not set: without Redis, dead letters live only in the gateway process (its log lists them)',
    );
  }
  return config;
}

async function run(args: string[]): Promise<number> {
  const [command, id] = args;
  if (command !== 'dead' && command !== 'replay') throw new UsageError(USAGE);
  if (command === 'replay' && !id) throw new UsageError(USAGE);
  const config = readConfig();
  const webhook = config.webhook!;
  const keys = webhookKeys(config);
  const redis = openRedis(config.shared.redis!, {
    // A command-line job may wait for the first connection; it gives up when that fails.
    offlineQueue: true,
    connectTimeoutMs: 2000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    const letters = await listDeadLetters(redis, keys).catch((error: unknown) => {
      throw new Error(
        `Redis (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS) did not answer: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    if (command === 'dead') {
      for (const { entryId: _entry, message: _message, ...letter } of letters)
        console.log(JSON.stringify(letter));
      if (letters.length === 0) console.error('no dead-lettered events');
      return 0;
    }
    const letter = letters.find((l) => l.webhookId === id);
    if (!letter) {
      console.error(`no dead-lettered event ${id}`);
      return 1;
    }
    const send = createWebhookSender({
      url: webhook.url,
      secret: webhook.secret,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
    });
    const outcome = await send(letter.message, letter.attempts + 1);
    if (!outcome.ok) {
      console.log(JSON.stringify({ webhookId: id, delivered: false, error: outcome.error }));
      return 1;
    }
    await removeDeadLetter(redis, keys, letter.entryId);
    console.log(JSON.stringify({ webhookId: id, delivered: true, status: outcome.status }));
    return 0;
  } finally {
    redis.disconnect();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(error.message);
    else if (error instanceof ConfigError) console.error(`webhooks: ${error.message}`);
    else console.error(`webhooks: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
