// PATCH /api/v2/users/{id} as Auth0 does it for metadata (auth0-reference.md §10): root-level
// merge of user_metadata/app_metadata, `null` deletes a root key, `{}` wipes the whole object.
import type { EmulatorContext } from './context.js';
import { fail, type Reply } from './http.js';
import {
  authenticate,
  authorize,
  canReadIdpTokens,
  insufficientScope,
  payloadError,
  primaryOrFail,
  typeName,
  type Caller,
  type ManagementRequest,
} from './management-routes.js';
import type { StoredUser } from './state.js';
import { toWireUser } from './wire.js';

const METADATA_KEYS = ['user_metadata', 'app_metadata'] as const;
type MetadataKey = (typeof METADATA_KEYS)[number];

// Root attributes the emulator lets a PATCH change besides metadata (`email_verified`: what an
// operator changes in the dashboard). Auth0 accepts more (email, password, connection, …); the
// emulator refuses those as unknown rather than half-emulate them.
const PROFILE_TYPES: Readonly<Record<string, 'string' | 'boolean'>> = {
  name: 'string',
  nickname: 'string',
  given_name: 'string',
  family_name: 'string',
  picture: 'string',
  blocked: 'boolean',
  email_verified: 'boolean',
};

const UPDATE_SCOPES = ['update:users', 'update:users_app_metadata', 'update:current_user_metadata'];

interface UpdateBody {
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
  profile: Record<string, unknown>;
}

export function validateUpdateBody(request: ManagementRequest): UpdateBody {
  const { body } = request;
  if (body.kind === 'invalid') fail(400, 'Invalid request body', 'invalid_body');
  const value = body.kind === 'none' ? {} : body.value;
  if (typeName(value) !== 'object') payloadError(`Expected type object but found type ${typeName(value)}`);
  const fields = value as Record<string, unknown>;
  const extra = Object.keys(fields).filter(
    (k) => !(METADATA_KEYS as readonly string[]).includes(k) && !(k in PROFILE_TYPES),
  );
  if (extra.length > 0) payloadError(`Additional properties not allowed: ${extra.join(',')}`);
  const count = Object.keys(fields).length;
  if (count < 1) payloadError(`Too few properties defined (${count}), minimum 1`);

  const update: UpdateBody = { profile: {} };
  for (const [key, field] of Object.entries(fields)) {
    const expected = (METADATA_KEYS as readonly string[]).includes(key) ? 'object' : PROFILE_TYPES[key];
    if (typeName(field) !== expected) {
      payloadError(`Expected type ${expected} but found type ${typeName(field)}`, key);
    }
    if (expected === 'object') update[key as MetadataKey] = field as Record<string, unknown>;
    else update.profile[key] = field;
  }
  return update;
}

/**
 * `update:users` may change anything; `update:users_app_metadata` app_metadata of anyone;
 * `update:current_user_metadata` only the token's own user_metadata. Which of Auth0's messages
 * answers a partly covered body is unconfirmed: the emulator names the scopes that would cover it.
 */
function authorizeUpdate(caller: Caller, userId: string, update: UpdateBody): void {
  if (caller.scopes.has('update:users')) return;
  if (Object.keys(update.profile).length > 0) insufficientScope(['update:users']);
  if (update.app_metadata && !caller.scopes.has('update:users_app_metadata')) {
    insufficientScope(['update:users', 'update:users_app_metadata']);
  }
  if (update.user_metadata) {
    authorize(
      caller,
      userId,
      [],
      ['update:current_user_metadata'],
      ['update:users', 'update:current_user_metadata'],
    );
  }
}

/** Root keys are merged; a root key set to null is deleted; an empty object replaces everything. */
function mergeRoot(current: Record<string, unknown> | undefined, patch: Record<string, unknown>) {
  if (Object.keys(patch).length === 0) return {};
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    // defineProperty: a "__proto__" key from JSON is data here, never the object's prototype.
    else Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return merged;
}

function applyUpdate(ctx: EmulatorContext, user: StoredUser, update: UpdateBody): void {
  for (const key of METADATA_KEYS) {
    const patch = update[key];
    if (patch) user[key] = structuredClone(mergeRoot(user[key], patch));
  }
  Object.assign(user.profile, update.profile);
  user.updated_at = new Date(ctx.now()).toISOString();
}

export async function handleUpdateUser(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  const userId = request.segments[1];
  // A token with none of the scopes is refused before its body is looked at.
  if (!UPDATE_SCOPES.some((s) => caller.scopes.has(s))) insufficientScope(UPDATE_SCOPES);
  const update = validateUpdateBody(request);
  authorizeUpdate(caller, userId, update);
  const user = primaryOrFail(ctx, userId);
  applyUpdate(ctx, user, update);
  return { status: 200, body: toWireUser(user, { idpTokens: canReadIdpTokens(caller) }) };
}
