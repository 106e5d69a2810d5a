import { Writable } from 'node:stream';
import { GraphQLError } from 'graphql';
import { createFormatError } from '../../src/apollo-server.js';
import { ForbiddenError, RateLimitedError } from '../../src/errors.js';
import { createLogger } from '../../src/observability/logger.js';

function setup() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { lines, format: createFormatError(createLogger({ level: 'error', destination })) };
}

describe('createFormatError', () => {
  it('sends a GatewayError with its code, reason, auth0 and retryAfter, and nothing else', () => {
    const { format } = setup();
    const error = new ForbiddenError('Missing scope.', {
      reason: 'INSUFFICIENT_SCOPE',
      auth0: { statusCode: 403, errorCode: 'insufficient_scope' },
      cause: new Error('upstream body with Bearer abc.def.ghi'),
    });
    const formatted = format(
      { message: 'x', extensions: { code: 'X', stacktrace: ['at secret.ts:1'] } },
      error,
    );
    expect(formatted).toEqual({
      message: 'Missing scope.',
      extensions: {
        code: 'FORBIDDEN',
        reason: 'INSUFFICIENT_SCOPE',
        auth0: { statusCode: 403, errorCode: 'insufficient_scope' },
      },
    });
    expect(JSON.stringify(formatted)).not.toContain('abc.def.ghi');
  });

  it('keeps retryAfter on RATE_LIMITED', () => {
    const { format } = setup();
    const formatted = format({ message: 'x' }, new RateLimitedError('Slow down.', { retryAfter: 3 }));
    expect(formatted.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 3 });
  });

  it('masks an unexpected error as INTERNAL_SERVER_ERROR and logs it server-side', () => {
    const { format, lines } = setup();
    const formatted = format(
      {
        message: 'Cannot read properties of undefined',
        extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at /app/src/x.ts:3'] },
      },
      new TypeError('Cannot read properties of undefined'),
    );
    expect(formatted).toEqual({
      message: 'Internal server error.',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(lines.join('')).toContain('Cannot read properties of undefined');
  });

  it('passes request-shape errors through with their code but no stack trace', () => {
    const { format } = setup();
    const formatted = format(
      {
        message: 'Cannot query field "nope" on type "Query".',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', stacktrace: ['at x'] },
      },
      new GraphQLError('Cannot query field "nope" on type "Query".'),
    );
    expect(formatted).toEqual({
      message: 'Cannot query field "nope" on type "Query".',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });
});
