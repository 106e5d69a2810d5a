import { Writable } from 'node:stream';
import { createLogger } from '../../../src/observability/logger.js';

function memoryLogger(level = 'debug') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  // pino writes synchronously to a plain Writable.
  const logger = createLogger({ level, base: { service: 'test' }, destination });
  return { logger, text: () => lines.join(''), lines };
}

const SECRETS = {
  bearer: 'Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature',
  clientSecret: 'client-secret-value-1',
  accessToken: 'provider-access-token-2',
  refreshToken: 'provider-refresh-token-3',
  idToken: 'id-token-value-4',
  linkWith: 'link-with-token-5',
  token: 'plain-token-6',
  tokenSecret: 'provider-token-secret-7',
  password: 'password-8',
};

describe('createLogger', () => {
  it('redacts secrets wherever they sit in a log line', () => {
    const { logger, text, lines } = memoryLogger();
    logger.info({
      headers: { authorization: SECRETS.bearer },
      req: { headers: { authorization: SECRETS.bearer } },
      client_secret: SECRETS.clientSecret,
      config: { clientSecret: SECRETS.clientSecret },
      body: { link_with: SECRETS.linkWith, id_token: SECRETS.idToken },
      user: {
        identities: [
          {
            provider: 'github',
            access_token: SECRETS.accessToken,
            refresh_token: SECRETS.refreshToken,
            access_token_secret: SECRETS.tokenSecret,
          },
        ],
      },
      caller: { token: SECRETS.token },
      err: { cause: { headers: { authorization: SECRETS.bearer } } },
      input: { jwt: { linkWith: SECRETS.linkWith } },
      login: { password: SECRETS.password },
    });
    expect(lines).toHaveLength(1);
    for (const secret of Object.values(SECRETS)) expect(text()).not.toContain(secret);
    expect(text()).toContain('[redacted]');
    expect(text()).toContain('"provider":"github"');
    expect(JSON.parse(lines[0]).service).toBe('test');
  });

  it('honours the level', () => {
    const { logger, lines } = memoryLogger('info');
    logger.debug('hidden');
    logger.info('shown');
    expect(lines).toHaveLength(1);
  });
});
