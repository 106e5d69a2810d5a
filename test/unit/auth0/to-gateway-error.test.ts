import { GatewayError, type ErrorCode, type ErrorReason } from '../../../src/errors.js';
import {
  codeForStatus,
  deriveReason,
  fromRequestFailure,
  sanitizeUpstreamMessage,
  STATUS_TO_CODE,
  tokenEndpointError,
  toGatewayError,
  unexpectedResponse,
  type Auth0Operation,
} from '../../../src/auth0/to-gateway-error.js';

const body = (statusCode: number, message: string, errorCode?: string) =>
  JSON.stringify({ statusCode, error: 'x', message, ...(errorCode ? { errorCode } : {}) });

type Row = [Auth0Operation, number, string, ErrorCode, ErrorReason | undefined, string | null];

// operation, status, body, code, reason, auth0.errorCode
const rows: Row[] = [
  [
    'link',
    400,
    body(400, 'Main identity and the new one are the same.'),
    'BAD_USER_INPUT',
    'SAME_ACCOUNT',
    null,
  ],
  [
    'link',
    400,
    body(400, 'Provided secondary account not found.'),
    'BAD_USER_INPUT',
    'SECONDARY_NOT_FOUND',
    null,
  ],
  ['link', 400, body(400, 'Invalid token (link_with).'), 'BAD_USER_INPUT', 'INVALID_LINK_TOKEN', null],
  [
    'link',
    400,
    body(400, 'JWT (link_with) contains an invalid aud claim.'),
    'BAD_USER_INPUT',
    'INVALID_LINK_TOKEN',
    null,
  ],
  ['link', 400, body(400, 'JWT must have an alg of RS256'), 'BAD_USER_INPUT', 'INVALID_LINK_TOKEN', null],
  [
    'link',
    400,
    body(400, "Payload validation error: 'Additional properties not allowed: foo'.", 'invalid_body'),
    'BAD_USER_INPUT',
    undefined,
    'invalid_body',
  ],
  ['link', 400, body(400, 'Unable to link with the secondary account.'), 'BAD_USER_INPUT', undefined, null],
  ['unlink', 400, body(400, 'Main identity cannot be removed.'), 'BAD_USER_INPUT', 'MAIN_IDENTITY', null],
  ['link', 401, body(401, 'Invalid token'), 'UNAUTHENTICATED', undefined, null],
  [
    'read',
    401,
    body(401, 'Expired token received for JSON Web Token validation'),
    'UNAUTHENTICATED',
    undefined,
    null,
  ],
  [
    'link',
    403,
    body(403, 'User to be acted on does not match subject in bearer token.'),
    'FORBIDDEN',
    'SUBJECT_MISMATCH',
    null,
  ],
  [
    'link',
    403,
    body(403, 'Insufficient scope; expected: update:users.', 'insufficient_scope'),
    'FORBIDDEN',
    'INSUFFICIENT_SCOPE',
    'insufficient_scope',
  ],
  [
    'read',
    403,
    body(403, 'Insufficient scope, expected any of: read:users', 'insufficient_scope'),
    'FORBIDDEN',
    'INSUFFICIENT_SCOPE',
    'insufficient_scope',
  ],
  [
    'unlink',
    403,
    body(403, 'Operation not supported', 'operation_not_supported'),
    'FORBIDDEN',
    undefined,
    'operation_not_supported',
  ],
  [
    'link',
    404,
    body(404, 'The user does not exist.', 'inexistent_user'),
    'NOT_FOUND',
    'PRIMARY_NOT_FOUND',
    'inexistent_user',
  ],
  [
    'unlink',
    404,
    body(404, 'The user does not exist.', 'inexistent_user'),
    'NOT_FOUND',
    'PRIMARY_NOT_FOUND',
    'inexistent_user',
  ],
  ['unlink', 404, body(404, 'Identity not found.'), 'NOT_FOUND', undefined, null],
  [
    'read',
    404,
    body(404, 'The user does not exist.', 'inexistent_user'),
    'NOT_FOUND',
    undefined,
    'inexistent_user',
  ],
  [
    'update',
    400,
    body(400, "Payload validation error: 'Additional properties not allowed: foo'.", 'invalid_body'),
    'BAD_USER_INPUT',
    undefined,
    'invalid_body',
  ],
  [
    'update',
    403,
    body(403, 'Insufficient scope, expected any of: update:users', 'insufficient_scope'),
    'FORBIDDEN',
    'INSUFFICIENT_SCOPE',
    'insufficient_scope',
  ],
  [
    'update',
    404,
    body(404, 'The user does not exist.', 'inexistent_user'),
    'NOT_FOUND',
    undefined,
    'inexistent_user',
  ],
  ['link', 409, body(409, 'Specified identity already exists.'), 'CONFLICT', 'ALREADY_LINKED', null],
  ['unlink', 409, body(409, 'Conflict'), 'CONFLICT', undefined, null],
  [
    'link',
    429,
    body(429, 'Global limit has been reached', 'too_many_requests'),
    'RATE_LIMITED',
    undefined,
    'too_many_requests',
  ],
  ['link', 500, body(500, 'Internal error'), 'UPSTREAM_ERROR', undefined, null],
  ['read', 503, body(503, 'Query timeout'), 'UPSTREAM_ERROR', undefined, null],
  ['read', 414, 'URI Too Long', 'UPSTREAM_ERROR', undefined, null],
  ['read', 302, '', 'UPSTREAM_ERROR', undefined, null],
  ['read', 502, '<html>bad gateway</html>', 'UPSTREAM_ERROR', undefined, null],
];

describe('toGatewayError', () => {
  it.each(rows)(
    'maps %s %i (%s) to %s with reason %s',
    (operation, statusCode, text, code, reason, errorCode) => {
      const error = toGatewayError(operation, { statusCode, body: text, headers: {} });
      expect(error).toBeInstanceOf(GatewayError);
      expect(error.code).toBe(code);
      expect(error.extensions.code).toBe(code);
      expect(error.extensions.reason).toBe(reason);
      expect(error.extensions.auth0).toEqual({ statusCode, errorCode });
      expect(JSON.stringify(error.extensions)).not.toContain('"body"');
    },
  );

  it('covers every status in the table', () => {
    const covered = new Set(rows.map(([, s]) => s));
    for (const status of Object.keys(STATUS_TO_CODE)) expect(covered).toContain(Number(status));
  });

  it('writes a message for app developers with Auth0 text', () => {
    const error = toGatewayError('link', {
      statusCode: 400,
      body: body(400, 'Main identity and the new one are the same.'),
    });
    expect(error.message).toBe('Auth0 refused the link (400): Main identity and the new one are the same.');
  });

  it('keeps JWTs and bearer tokens out of the message', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdXRoMHwxIn0.c2lnbmF0dXJlLXZhbHVl';
    const error = toGatewayError('link', {
      statusCode: 400,
      body: body(400, `Invalid token (link_with): ${jwt} sent with Bearer abc.def`),
    });
    expect(error.message).not.toContain(jwt);
    expect(error.message).not.toContain('abc.def');
    expect(error.reason).toBe('INVALID_LINK_TOKEN');
  });

  it('gives RATE_LIMITED a retryAfter from Retry-After, else from x-ratelimit-reset, else 1', () => {
    const now = 1_700_000_000_000;
    const r1 = toGatewayError('read', { statusCode: 429, headers: { 'retry-after': '7' } }, { nowMs: now });
    expect(r1.retryAfter).toBe(7);
    expect(r1.extensions.retryAfter).toBe(7);
    const r2 = toGatewayError(
      'read',
      { statusCode: 429, headers: { 'x-ratelimit-reset': String(now / 1000 + 3) } },
      { nowMs: now },
    );
    expect(r2.retryAfter).toBe(3);
    expect(toGatewayError('read', { statusCode: 429, headers: {} }).retryAfter).toBe(1);
  });

  it('treats a 401 on the service token as the gateway failing, not the caller', () => {
    expect(codeForStatus(401, 'service')).toBe('UPSTREAM_ERROR');
    expect(codeForStatus(401, 'user')).toBe('UNAUTHENTICATED');
    const error = toGatewayError(
      'read',
      { statusCode: 401, body: body(401, 'Invalid token') },
      { auth: 'service' },
    );
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.extensions.auth0).toEqual({ statusCode: 401, errorCode: null });
  });

  it('keeps the body and headers in cause only', () => {
    const text = body(400, 'Invalid request body', 'invalid_body');
    const error = toGatewayError('link', { statusCode: 400, body: text, headers: { 'x-a': '1' } });
    expect(error.cause).toEqual({ statusCode: 400, body: text, headers: { 'x-a': '1' } });
    expect(JSON.stringify(error.toJSON())).not.toContain('x-a');
  });
});

describe('deriveReason', () => {
  it('matches phrases case-insensitively', () => {
    expect(deriveReason('link', 400, null, 'MAIN IDENTITY AND THE NEW ONE ARE THE SAME')).toBe(
      'SAME_ACCOUNT',
    );
  });
  it('falls back to no reason for anything unknown', () => {
    expect(deriveReason('link', 418, null, 'teapot')).toBeUndefined();
    expect(deriveReason('read', 400, null, 'Invalid token (link_with).')).toBeUndefined();
    expect(deriveReason('link', 400, null, null)).toBeUndefined();
  });
});

describe('network failures and unexpected bodies', () => {
  it('maps a timeout to UPSTREAM_TIMEOUT without auth0 extensions', () => {
    const error = fromRequestFailure(
      'link',
      Object.assign(new Error('Timeout'), { name: 'TimeoutError', code: 'ETIMEDOUT' }),
    );
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(error.extensions.auth0).toBeUndefined();
  });

  it('maps a refused or reset connection to UPSTREAM_ERROR, summarising the cause without request options', () => {
    const failure = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
      options: { headers: { authorization: 'Bearer secret-token' } },
    });
    const error = fromRequestFailure('read', failure);
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(JSON.stringify(error.cause)).not.toContain('secret-token');
    expect(
      fromRequestFailure('read', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })).code,
    ).toBe('UPSTREAM_ERROR');
  });

  it('maps an unusable success body to UPSTREAM_ERROR with auth0 status', () => {
    const error = unexpectedResponse('link', 201, 'body is not JSON');
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.extensions.auth0).toEqual({ statusCode: 201, errorCode: null });
  });

  it('sanitises control characters and long opaque runs', () => {
    expect(sanitizeUpstreamMessage(`a\nb ${'Z'.repeat(50)}`)).toBe('a b [redacted]');
  });
});

describe('tokenEndpointError', () => {
  it('maps 401 access_denied to UPSTREAM_ERROR with errorCode from error, never the secret', () => {
    const secret = 'super-secret-value';
    const error = tokenEndpointError(
      {
        statusCode: 401,
        body: JSON.stringify({ error: 'access_denied', error_description: `Unauthorized ${secret}` }),
      },
      { secret },
    );
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.extensions.auth0).toEqual({ statusCode: 401, errorCode: 'access_denied' });
    expect(error.message).not.toContain(secret);
    expect(JSON.stringify(error.cause)).not.toContain(secret);
  });

  it('maps 429 to RATE_LIMITED', () => {
    const error = tokenEndpointError({
      statusCode: 429,
      headers: { 'retry-after': '2' },
      body: '{"error":"too_many_requests"}',
    });
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfter).toBe(2);
  });
});
