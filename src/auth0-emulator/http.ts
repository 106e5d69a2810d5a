// Request bodies in, JSON replies out, and Auth0's two error shapes.
import { STATUS_CODES, type IncomingMessage } from 'node:http';

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as is instead of the JSON of `body` (HTML pages); headers carry its content type. */
  text?: string;
  /** Sent as is instead of `text` or JSON (a gzipped export file); headers carry its content type. */
  bytes?: Buffer;
}

/** A 302 to `location`. */
export function redirect(location: string, headers: Record<string, string> = {}): Reply {
  return {
    status: 302,
    body: undefined,
    text: '',
    headers: { location, 'cache-control': 'no-store', ...headers },
  };
}

export type BodyKind = 'none' | 'json' | 'form' | 'invalid';

export interface ParsedBody {
  kind: BodyKind;
  /** Parsed JSON or form object; the raw string when unparseable; undefined when empty. */
  value: unknown;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<ParsedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return { kind: 'invalid', value: undefined };
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw.length === 0) return { kind: 'none', value: undefined };
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    return { kind: 'form', value: Object.fromEntries(new URLSearchParams(raw)) };
  }
  try {
    return { kind: 'json', value: JSON.parse(raw) as unknown };
  } catch {
    return { kind: 'invalid', value: raw };
  }
}

/** Management API error body: `{statusCode, error, message, errorCode?}` (errorCode is often absent on 401). */
export function managementError(status: number, message: string, errorCode?: string): Reply {
  return {
    status,
    body: {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      message,
      ...(errorCode === undefined ? {} : { errorCode }),
    },
  };
}

/** Authentication API (/oauth/token) error body: `{error, error_description}`. */
export function oauthError(status: number, error: string, description: string): Reply {
  return { status, body: { error, error_description: description } };
}

/** Thrown by route handlers to answer early with an Auth0-shaped error. */
export class ReplyError extends Error {
  constructor(readonly reply: Reply) {
    super(`emulator reply ${reply.status}`);
  }
}

export function fail(status: number, message: string, errorCode?: string): never {
  throw new ReplyError(managementError(status, message, errorCode));
}
