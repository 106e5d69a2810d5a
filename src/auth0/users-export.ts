// Auth0's users-export job as the gateway reads it (DESIGN §16): the job's wire shape, and the
// download of its file, gunzipped and split into NDJSON lines as they arrive, so a tenant of any
// size is read in bounded memory.
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import got from 'got';
import { UpstreamError, UpstreamTimeoutError } from '../errors.js';
import { ShapeError } from './parse-wire.js';
import { isTimeout } from './to-gateway-error.js';

/** One field of an export: `name` is a path in the user (`identities`, `user_metadata.plan`). */
export interface WireExportField {
  name: string;
  export_as?: string;
}

/** `POST /api/v2/jobs/users-exports` body (`CreateExportUsersRequestContent`). */
export interface WireUsersExportRequest {
  connection_id?: string;
  format?: 'json' | 'csv';
  limit?: number;
  fields?: WireExportField[];
}

/** A job as `POST /jobs/users-exports` and `GET /jobs/{id}` answer it; `location` once completed. */
export interface WireJob {
  id: string;
  type: string;
  status: string;
  location?: string;
  created_at?: string;
  percentage_done?: number;
  [key: string]: unknown;
}

/** Auth0's job ids: `job_` and alphanumerics. Checked before one goes into a path. */
export const JOB_ID = /^job_[A-Za-z0-9]{1,64}$/;

export function parseJob(value: unknown): WireJob {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new ShapeError('job is not an object');
  const job = value as Record<string, unknown>;
  for (const key of ['id', 'type', 'status'] as const) {
    if (typeof job[key] !== 'string') throw new ShapeError(`job lacks ${key}`);
  }
  if (job.location !== undefined && typeof job.location !== 'string')
    throw new ShapeError('job location is not a string');
  return job as WireJob;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Is `location` a URL the gateway may fetch? Auth0 hands out an https storage URL; plain http is
 * accepted on loopback only (the emulator), so an answer cannot point the download at the network
 * in clear.
 */
export function exportLocationUrl(location: string): URL {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new UpstreamError("Auth0's export job gave a location that is not a URL.");
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return url;
  throw new UpstreamError(
    `Auth0's export job gave a location over ${url.protocol.replace(':', '')}, not https.`,
  );
}

/** Longest line accepted (one user): a longer one is refused rather than buffered. */
export const MAX_EXPORT_LINE_BYTES = 1024 * 1024;

export interface ExportDownloadOptions {
  /** Time to connect, to the first byte, and between two chunks; not the whole download. */
  idleTimeoutMs: number;
}

/**
 * The users of a completed export's file, one object per NDJSON line, read as the bytes arrive
 * (the next chunk is read only when the consumer asks for more lines). The request carries no
 * Authorization header: the location is a pre-signed storage URL, and the Management API token
 * must not leave for another host. The download is not a Management API call and takes no part in
 * the rate budget. Every failure is an UpstreamError or UpstreamTimeoutError whose message holds
 * neither the URL nor its signature.
 */
export async function* streamUsersExport(
  location: string,
  options: ExportDownloadOptions,
): AsyncGenerator<Record<string, unknown>> {
  const url = exportLocationUrl(location);
  const { idleTimeoutMs } = options;
  const download = got.stream(url, {
    retry: { limit: 0 },
    followRedirect: false,
    decompress: false,
    timeout: { connect: idleTimeoutMs, response: idleTimeoutMs, socket: idleTimeoutMs },
    headers: { 'user-agent': 'auth0-link-gateway' },
  });
  const gunzip = createGunzip();
  download.on('error', (error: unknown) => gunzip.destroy(failure(error)));
  download.pipe(gunzip);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let lineNumber = 0;
  const parse = (line: string): Record<string, unknown> | undefined => {
    lineNumber += 1;
    if (line.trim() === '') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UpstreamError(`Line ${lineNumber} of the users export is not JSON.`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new UpstreamError(`Line ${lineNumber} of the users export is not an object.`);
    return value as Record<string, unknown>;
  };
  try {
    for await (const chunk of gunzip) {
      pending += decoder.write(chunk as Buffer);
      let end: number;
      while ((end = pending.indexOf('\n')) >= 0) {
        const user = parse(pending.slice(0, end));
        pending = pending.slice(end + 1);
        if (user) yield user;
      }
      if (Buffer.byteLength(pending) > MAX_EXPORT_LINE_BYTES) {
        throw new UpstreamError(`Line ${lineNumber + 1} of the users export is longer than 1 MiB.`);
      }
    }
    const last = parse(pending + decoder.end());
    if (last) yield last;
  } catch (error) {
    throw error instanceof UpstreamError || error instanceof UpstreamTimeoutError ? error : failure(error);
  } finally {
    download.destroy();
    gunzip.destroy();
  }
}

/** A download or gunzip failure as the gateway's error, without the URL got puts in its own. */
function failure(error: unknown): Error {
  if (error instanceof UpstreamError || error instanceof UpstreamTimeoutError) return error;
  if (isTimeout(error)) return new UpstreamTimeoutError('The users export download timed out.');
  const status = (error as { response?: { statusCode?: unknown } } | null)?.response?.statusCode;
  if (typeof status === 'number')
    return new UpstreamError(`The users export download was answered ${status}.`);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('Z_'))
    return new UpstreamError('The users export file is not valid gzip.');
  return new UpstreamError('The users export download failed.');
}
