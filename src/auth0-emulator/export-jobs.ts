// Auth0's users-export job (DESIGN §16): `POST /api/v2/jobs/users-exports` creates it,
// `GET /api/v2/jobs/{id}` reports it, and once completed its `location` is a gzipped file the
// emulator serves itself, standing in for the pre-signed storage URL Auth0 hands out (no bearer,
// outside the Management API's rate limit).
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { auth0ConnectionIdPattern } from '../auth0/openapi/published-contract.js';
import type { EmulatorContext } from './context.js';
import { fail, managementError, type Reply } from './http.js';
import {
  authenticate,
  insufficientScope,
  payloadError,
  typeName,
  type ManagementRequest,
} from './management-routes.js';
import type { StoredUser } from './state.js';
import { toWireUser } from './wire.js';

export interface ExportField {
  name: string;
  export_as?: string;
}

type ExportFormat = 'json' | 'csv';

interface ExportJob {
  id: string;
  created_at: string;
  connection_id?: string;
  connection: string;
  format: ExportFormat;
  limit?: number;
  fields: ExportField[];
  /** GETs of the job so far; it completes on read number `pollsUntilCompleted`. */
  reads: number;
  /** The gzipped file, made when the job completes (the tenant as it was then). */
  file?: Buffer;
  /** Stands in for a pre-signed URL's signature: the location works with it only. */
  signature: string;
}

/**
 * Fields exported when the request names none. Auth0 says "a predefined set of fields" without
 * listing it; these are the emulator's choice (unconfirmed).
 */
export const DEFAULT_EXPORT_FIELDS: readonly string[] = [
  'user_id',
  'email',
  'email_verified',
  'name',
  'nickname',
  'picture',
  'identities',
  'created_at',
  'updated_at',
];

/** Auth0's documented cap on `fields` ("You can export up to 30 fields"). */
const MAX_EXPORT_FIELDS = 30;
const JOB_ID = /^job_[A-Za-z0-9]{16}$/;
const BODY_KEYS = ['connection_id', 'format', 'limit', 'fields'];
// The file is named after the tenant at Auth0 ("The name of your tenant is also the name of your file").
const TENANT_NAME = 'emulator';
export const EXPORT_FILE_PREFIX = '/user-exports/';

function alphanumerics(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/**
 * The tenant's export jobs. A job answers `pending` when created, `processing` on its first
 * `pollsUntilCompleted - 1` reads and `completed` (with `location`) from read number
 * `pollsUntilCompleted` on: a test drives it by polling, never by waiting.
 */
export class ExportJobs {
  private readonly jobs = new Map<string, ExportJob>();

  constructor(private readonly pollsUntilCompleted: number) {
    if (!Number.isInteger(pollsUntilCompleted) || pollsUntilCompleted < 1) {
      throw new RangeError(`exportJobPolls must be an integer ≥ 1, got ${pollsUntilCompleted}`);
    }
  }

  clear(): void {
    this.jobs.clear();
  }

  add(job: ExportJob): void {
    this.jobs.set(job.id, job);
  }

  get(id: string): ExportJob | undefined {
    return this.jobs.get(id);
  }

  completesOnRead(reads: number): boolean {
    return reads >= this.pollsUntilCompleted;
  }
}

function validateExportBody(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Omit<ExportJob, 'id' | 'created_at' | 'reads' | 'signature'> {
  const { body } = request;
  if (body.kind === 'invalid') fail(400, 'Invalid request body', 'invalid_body');
  const value = body.kind === 'none' ? {} : body.value;
  if (typeName(value) !== 'object') payloadError(`Expected type object but found type ${typeName(value)}`);
  const fields = value as Record<string, unknown>;
  const extra = Object.keys(fields).filter((k) => !BODY_KEYS.includes(k));
  if (extra.length > 0) payloadError(`Additional properties not allowed: ${extra.join(',')}`);

  const { connection_id: connectionId, format, limit, fields: wanted } = fields;
  if (connectionId !== undefined) {
    if (typeof connectionId !== 'string')
      payloadError(`Expected type string but found type ${typeName(connectionId)}`, 'connection_id');
    const pattern = auth0ConnectionIdPattern();
    if (!pattern.test(connectionId))
      payloadError(`String does not match pattern ${pattern.source}: ${connectionId}`, 'connection_id');
  }
  if (format !== undefined && format !== 'json' && format !== 'csv') {
    payloadError(`No enum match for: ${JSON.stringify(format)}`, 'format');
  }
  if (limit !== undefined) {
    if (typeName(limit) !== 'integer')
      payloadError(`Expected type integer but found type ${typeName(limit)}`, 'limit');
    if ((limit as number) < 1) payloadError(`Value ${String(limit)} is less than minimum 1`, 'limit');
  }
  const exportFields: ExportField[] = [];
  if (wanted !== undefined) {
    if (!Array.isArray(wanted))
      payloadError(`Expected type array but found type ${typeName(wanted)}`, 'fields');
    // Auth0's wording for more than 30 fields is unconfirmed; it is a schema-style 400.
    if (wanted.length > MAX_EXPORT_FIELDS)
      payloadError(`Array is too long (${wanted.length}), maximum ${MAX_EXPORT_FIELDS}`, 'fields');
    for (const field of wanted) {
      if (typeName(field) !== 'object')
        payloadError(`Expected type object but found type ${typeName(field)}`, 'fields');
      const { name, export_as: exportAs, ...rest } = field as Record<string, unknown>;
      if (Object.keys(rest).length > 0)
        payloadError(`Additional properties not allowed: ${Object.keys(rest).join(',')}`, 'fields');
      if (typeof name !== 'string') payloadError('Missing required property: name', 'fields');
      if (name.length > 100) payloadError(`String is too long (${name.length} chars), maximum 100`, 'fields');
      if (exportAs !== undefined && typeof exportAs !== 'string')
        payloadError(`Expected type string but found type ${typeName(exportAs)}`, 'fields');
      exportFields.push(exportAs === undefined ? { name } : { name, export_as: exportAs });
    }
  }

  let connection = '';
  if (connectionId !== undefined) {
    const known = new Set(ctx.state.primaries().flatMap((u) => u.identities.map((i) => i.connection)));
    const match = [...known].find((name) => ctx.state.connectionId(name) === connectionId);
    if (match === undefined) fail(400, 'The connection does not exist.');
    connection = match;
  }
  return {
    ...(connectionId === undefined ? {} : { connection_id: connectionId as string }),
    connection,
    format: (format as ExportFormat | undefined) ?? 'json',
    ...(limit === undefined ? {} : { limit: limit as number }),
    fields: exportFields.length > 0 ? exportFields : DEFAULT_EXPORT_FIELDS.map((name) => ({ name })),
  };
}

/** The job as Auth0's Management API shows it (`CreateExportUsersResponseContent`, `GetJobResponseContent`). */
function jobBody(ctx: EmulatorContext, job: ExportJob, status: string): Record<string, unknown> {
  return {
    type: 'users_export',
    status,
    ...(job.connection_id === undefined ? {} : { connection_id: job.connection_id }),
    // Required by the published schema; for a whole-tenant export Auth0's value is undocumented:
    // the emulator sends "" (unconfirmed).
    connection: job.connection,
    format: job.format,
    ...(job.limit === undefined ? {} : { limit: job.limit }),
    fields: job.fields.map((f) => ({ ...f })),
    created_at: job.created_at,
    id: job.id,
    ...(status === 'completed' ? { location: exportLocation(ctx, job) } : {}),
  };
}

function exportLocation(ctx: EmulatorContext, job: ExportJob): string {
  return `${ctx.origin}${EXPORT_FILE_PREFIX}${job.id}/${TENANT_NAME}.${job.format}.gz?sig=${job.signature}`;
}

// ---- POST /api/v2/jobs/users-exports ----

export async function handleCreateUsersExport(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  if (!caller.scopes.has('read:users')) insufficientScope(['read:users']);
  const job: ExportJob = {
    ...validateExportBody(ctx, request),
    id: `job_${alphanumerics(16)}`,
    created_at: new Date(ctx.now()).toISOString(),
    reads: 0,
    signature: alphanumerics(32),
  };
  ctx.exportJobs.add(job);
  // Auth0's published document gives 200 for this route ("Job created successfully."); the
  // emulator follows it (whether the live API sends 201 instead is unconfirmed).
  return { status: 200, body: jobBody(ctx, job, 'pending') };
}

// ---- GET /api/v2/jobs/{id} ----

export async function handleGetJob(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  // The document lists both scopes for this route; either one is enough.
  if (!caller.scopes.has('read:users') && !caller.scopes.has('create:users')) {
    insufficientScope(['create:users', 'read:users']);
  }
  const id = request.segments[1];
  if (!JOB_ID.test(id)) {
    fail(
      400,
      `Path validation error: 'String does not match pattern ^job_[A-Za-z0-9]{16}$: ${id}' on property id.`,
      'invalid_uri',
    );
  }
  const job = ctx.exportJobs.get(id);
  if (!job) fail(404, 'Job not found.', 'inexistent_job');
  job.reads += 1;
  if (!ctx.exportJobs.completesOnRead(job.reads)) {
    return { status: 200, body: { ...jobBody(ctx, job, 'processing'), percentage_done: 50 } };
  }
  job.file ??= gzipSync(exportFile(ctx, job));
  return { status: 200, body: { ...jobBody(ctx, job, 'completed'), percentage_done: 100 } };
}

// ---- GET <location> ----

/** The file at a completed job's `location`; 403 for a wrong signature, as a storage URL would. */
export function handleExportFile(
  ctx: EmulatorContext,
  rawSegments: string[],
  query: Record<string, string>,
): Reply {
  const [jobId, fileName] = rawSegments;
  const job = jobId ? ctx.exportJobs.get(jobId) : undefined;
  if (!job?.file || rawSegments.length !== 2 || fileName !== `${TENANT_NAME}.${job.format}.gz`) {
    return managementError(404, 'Not Found');
  }
  if (query.sig !== job.signature) return managementError(403, 'Forbidden');
  return {
    status: 200,
    body: undefined,
    bytes: job.file,
    headers: { 'content-type': 'application/gzip' },
  };
}

// ---- The file ----

/** `identities[0].connection`, `user_metadata.country`: a field's value in the user, if any. */
function valueAt(user: Record<string, unknown>, path: string): unknown {
  let current: unknown = user;
  for (const part of path.replace(/\[(\d+)\]/g, '.$1').split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function exportedUsers(ctx: EmulatorContext, job: ExportJob): StoredUser[] {
  // An export reads the user store, not the search index: users hidden from search are in it.
  const users = ctx.state
    .primaries()
    .filter((u) => job.connection_id === undefined || u.identities[0].connection === job.connection);
  return job.limit === undefined ? users : users.slice(0, job.limit);
}

/**
 * One line per user. JSON: an object keyed by `export_as` (else the field's name) with the field's
 * value as the user has it (objects and arrays whole: `identities`, `user_metadata`); absent fields
 * are left out. CSV: a header row, then Auth0's escaping against CSV injection (each string
 * quoted, prefixed with `'`, inner quotes doubled).
 */
function exportFile(ctx: EmulatorContext, job: ExportJob): string {
  const users = exportedUsers(ctx, job).map(
    (u) => toWireUser(u, { idpTokens: false }) as unknown as Record<string, unknown>,
  );
  const keys = job.fields.map((f) => f.export_as ?? f.name);
  if (job.format === 'json') {
    return users
      .map((user) => {
        const line: Record<string, unknown> = {};
        job.fields.forEach((field, i) => {
          const value = valueAt(user, field.name);
          if (value !== undefined) line[keys[i]] = value;
        });
        return `${JSON.stringify(line)}\n`;
      })
      .join('');
  }
  const cell = (value: unknown): string => {
    if (value === undefined || value === null) return '';
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return typeof value === 'string' ? `"'${text.replace(/"/g, '""')}"` : text;
  };
  const rows = users.map((user) => job.fields.map((f) => cell(valueAt(user, f.name))).join(','));
  return [keys.join(','), ...rows].map((row) => `${row}\n`).join('');
}
