import type { GatewayContext } from '../context.js';
import { readUser } from './read-users.js';
import type { User } from './user.type.js';

/**
 * Resolves `User` entities for the supergraph router. Same rule as `user(id)`: the caller's own
 * user or the admin permission; representations of one request are batched by `ctx.users`.
 */
export function resolveUserReference(reference: { id: string }, ctx: GatewayContext): Promise<User | null> {
  return readUser(ctx, reference.id);
}
