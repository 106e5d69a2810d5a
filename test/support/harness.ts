import { Writable } from 'node:stream';
import {
  startAuth0Emulator,
  DEMO,
  type Auth0Emulator,
  type EmulatorOptions,
} from '../../src/auth0-emulator/index.js';
import { loadConfig } from '../../src/config.js';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/logger.js';

export interface Harness {
  emulator: Auth0Emulator;
  gateway: RunningGateway;
  /** `http://127.0.0.1:PORT/graphql` */
  url: string;
  /** Every log line the gateway wrote, raw. */
  logLines: string[];
  /** Parsed log lines that are audit events. */
  auditEvents(): Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts the emulator and the real gateway (HTTP on 127.0.0.1, port 0) wired to it. */
export async function startHarness(
  options: {
    env?: Record<string, string>;
    emulator?: EmulatorOptions;
    gateway?: Omit<GatewayOptions, 'logger'>;
    /**
     * Runs the suite with the read cache on (USER_CACHE_TTL_MS 30 s), in this process only or, with
     * `redisUrl`, shared through that Redis (under a key prefix of its own).
     */
    readCache?: true | { redisUrl: string; keyPrefix?: string };
  } = {},
): Promise<Harness> {
  const emulator = await startAuth0Emulator({ port: 0, ...options.emulator });
  const config = loadConfig({
    AUTH0_DOMAIN: emulator.origin,
    AUTH0_CLIENT_ID: DEMO.serviceClientId,
    AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
    PORT: '0',
    LOG_LEVEL: 'info',
    // Many tests link far more than 30 times with one admin token; the per-caller limit has its own tests.
    CALLER_RATE_LIMIT: '1000000/60',
    // Suites reset or change the emulator between tests and pin the Auth0 calls each read makes:
    // users cached before would answer instead. Suites about the read cache turn it on.
    USER_CACHE_TTL_MS: options.readCache ? '30000' : '0',
    ...(typeof options.readCache === 'object'
      ? {
          REDIS_URL: options.readCache.redisUrl,
          REDIS_KEY_PREFIX: options.readCache.keyPrefix ?? `harness-${process.pid}-${Date.now()}:`,
        }
      : {}),
    ...options.env,
  });
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination });
  const gateway = await startGateway(config, { ...options.gateway, logger });
  return {
    emulator,
    gateway,
    url: gateway.url,
    logLines,
    auditEvents: () =>
      logLines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry.audit === true),
    close: async () => {
      await gateway.close();
      await emulator.close();
    },
  };
}

/** Ready-made tokens of the demo tenant. */
export async function demoTokens(emulator: Auth0Emulator) {
  return {
    alice: await emulator.tokens.userAccessToken({ sub: DEMO.users.alice }),
    bob: await emulator.tokens.userAccessToken({ sub: DEMO.users.bob }),
    aliceGoogleIdToken: await emulator.tokens.idToken({ sub: DEMO.users.aliceGoogle }),
    admin: await emulator.tokens.adminToken({ scope: 'update:users read:users' }),
  };
}
