import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  level: string;
  /** Fields on every line (service name, version, …). */
  base?: Record<string, unknown>;
  /** Where lines go; stdout by default. Tests pass an in-memory stream. */
  destination?: DestinationStream;
}

const SECRET_KEYS = [
  'authorization',
  'cookie',
  'token',
  'accessToken',
  'access_token',
  'access_token_secret',
  'refresh_token',
  'refreshToken',
  'id_token',
  'idToken',
  'link_with',
  'linkWith',
  'client_secret',
  'clientSecret',
  'secret',
  'password',
  'client_assertion',
];

/**
 * Paths pino blanks out before a line is written. Secrets are looked for at the top level and
 * up to three levels down (`err.cause.headers.authorization`, `identities[*].access_token`, …):
 * fast-redact wildcards match exactly one level, so each depth is listed.
 */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.*.${k}`),
  ...['access_token', 'access_token_secret', 'refresh_token'].flatMap((k) => [
    `identities[*].${k}`,
    `*.identities[*].${k}`,
    `*[*].identities[*].${k}`,
  ]),
  'req.headers["x-api-key"]',
];

/**
 * The process logger: JSON lines, secrets redacted as `[redacted]`, `time` as an ISO-8601 string.
 * pino writes `time` (and a child's bindings such as `requestId`) itself: objects logged through it
 * must not carry those keys again, or the line repeats a key in one JSON object.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: options.base ?? {},
      // ISO strings sort, read and index (Elasticsearch date detection) as they are.
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    },
    options.destination,
  );
}
