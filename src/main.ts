// Entry point: config → embedded emulator when no AUTH0_DOMAIN → server.
import 'reflect-metadata';
import { startAuth0Emulator, DEMO, type Auth0Emulator } from './auth0-emulator/index.js';
import { ConfigError, loadConfig, loadDotEnv } from './config.js';
import { renderDemoRequests } from './demo.js';
import { startGateway } from './gateway.js';
import { suggestAccountLinkDeployment } from './login-link/action-deployment.js';

function fail(message: string): never {
  console.error(`auth0-link-gateway: ${message}`);
  process.exit(1);
}

async function main() {
  try {
    loadDotEnv();
  } catch (error) {
    fail(`.env: ${(error as Error).message}`);
  }
  const env = { ...process.env };
  let emulator: Auth0Emulator | undefined;
  if (!env.AUTH0_DOMAIN) {
    if (env.NODE_ENV === 'production') {
      fail('AUTH0_DOMAIN: is required when NODE_ENV=production (the embedded emulator is for development).');
    }
    emulator = await startAuth0Emulator({ port: 0 });
    env.AUTH0_DOMAIN = emulator.origin;
    env.AUTH0_CLIENT_ID = DEMO.serviceClientId;
    env.AUTH0_CLIENT_SECRET = DEMO.serviceClientSecret;
  }

  let config;
  try {
    config = loadConfig(env, { embeddedEmulator: !!emulator });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }

  const gateway = await startGateway(config);
  // Linking at login on the embedded tenant (DESIGN §14): the repo's Action, bound to post-login,
  // asks this gateway, with the secret the configuration generated (or LOGIN_LINK_SECRET).
  if (emulator && config.loginLink) {
    emulator.deployActions(
      suggestAccountLinkDeployment({
        gatewayUrl: config.loginLink.publicUrl ?? gateway.origin,
        secret: config.loginLink.secret,
        clientId: config.loginLink.clientId,
      }),
    );
  }
  gateway.logger.info(
    { url: gateway.url, auth0: config.auth0.origin, embedded: !!emulator },
    'gateway listening',
  );
  console.log(
    [
      '',
      `GraphQL: ${gateway.url}  (health: ${gateway.origin}/healthz, ready: ${gateway.origin}/readyz)`,
      ...(gateway.demoPageUrl ? [`Demo page: ${gateway.demoPageUrl}`] : []),
      ...(gateway.ideUrl ? [`GraphQL IDE: ${gateway.ideUrl}  (open it in a browser)`] : []),
      ...(emulator && config.loginLink
        ? ['Linking at login: on (the demo page says how to see the prompt)']
        : []),
      `Auth0: ${config.auth0.origin}${emulator ? '  (embedded emulator; Postman: the auth0Origin variable)' : ''}`,
    ].join('\n'),
  );
  if (emulator) console.log(`\n${await renderDemoRequests(emulator, gateway.url)}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const timeoutMs = config.shutdownTimeoutMs;
    const minDrainMs = config.shutdownMinDrainMs;
    gateway.logger.info(
      { signal, timeoutMs, minDrainMs },
      'draining: /readyz answers 503, finishing requests in flight',
    );
    gateway
      .drain({ timeoutMs, minDrainMs })
      .then(async ({ cut, stillRunning }) => {
        if (cut > 0) {
          gateway.logger.warn(
            { cut, stillRunning, timeoutMs },
            'SHUTDOWN_TIMEOUT_MS reached: requests still in flight were cut',
          );
        } else gateway.logger.info({ signal }, 'drained: no request in flight');
        await emulator?.close();
        process.exit(0);
      })
      .catch((error: unknown) => {
        gateway.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('auth0-link-gateway: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
