import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { authorizeMetadataRead } from '../auth/authorize.js';
import type { GatewayContext } from '../context.js';
import { toIdentity, toUser } from './to-identity.js';
import { linkAccounts, unlinkAccount, type AccountChange } from './link-accounts.js';
import { LinkAccountsArgs, UnlinkAccountArgs } from './accounts.args.js';
import { LinkAccountsPayload, UndoLinkPayload, UnlinkAccountPayload } from './payloads.type.js';
import { undoLink, type UndoResult } from './undo-link.js';
import { previewLink } from './link-preview.js';
import { LinkPreview } from './link-preview.type.js';
import { readLinkCandidates, readMe, readUser } from './read-users.js';
import { limitCandidateExposure } from './candidate-exposure.js';
import { User } from './user.type.js';
import { Identity } from './identity.type.js';

/**
 * A mutation answers only once the users it touched (and the email lists that name them) are out
 * of this replica's read cache and, when Redis took the invalidation, out of Redis and every
 * replica's memory (DESIGN §11), whether it succeeded or not: a failed link may still have
 * happened. When Redis did not take it, this replica keeps it and replays it before it reads Redis
 * again; until then other replicas may serve their copies (logged). A link's answer names the
 * secondaries now held by the primary: they are stored as its aliases, so a read right after it
 * needs no search (whose index may lag).
 */
async function afterWrites(
  ctx: GatewayContext,
  mutation: Promise<AccountChange>,
  kind: 'link' | 'unlink',
): Promise<AccountChange> {
  let change: AccountChange | undefined;
  try {
    change = await mutation;
    return change;
  } finally {
    const shared = await ctx.invalidateTouchedUsers(change ? knownAfter(change, kind) : {});
    if (!shared) {
      ctx.logger().warn('read cache: invalidation not taken by Redis; kept and replayed once it answers');
    }
  }
}

/** What a change's answer tells the read cache: linked secondaries' primary, and emails seen. */
function knownAfter(
  change: AccountChange,
  kind: 'link' | 'unlink',
): { aliases?: Map<string, string>; emails: string[] } {
  const emails = change.identities
    .map((identity) => identity.profileData?.email)
    .filter((email): email is string => typeof email === 'string');
  if (kind !== 'link') return { emails };
  const aliases = new Map<string, string>();
  for (const identity of change.identities) {
    const id = `${identity.provider}|${String(identity.user_id)}`;
    if (id !== change.primaryId) aliases.set(id, change.primaryId);
  }
  return { aliases, emails };
}

@Resolver()
export class AccountsResolver {
  @Mutation(() => LinkAccountsPayload, {
    description:
      "Links a secondary account into the primary account `primaryId`; returns the primary's identities.",
  })
  linkAccounts(
    @Args() { primaryId, input }: LinkAccountsArgs,
    @Ctx() ctx: GatewayContext,
  ): Promise<AccountChange> {
    return afterWrites(ctx, linkAccounts(ctx, primaryId, input), 'link');
  }

  @Mutation(() => UnlinkAccountPayload, {
    description: 'Detaches one secondary identity from `primaryId`; it becomes a standalone user again.',
  })
  unlinkAccount(
    @Args() { primaryId, provider, userId }: UnlinkAccountArgs,
    @Ctx() ctx: GatewayContext,
  ): Promise<AccountChange> {
    return afterWrites(ctx, unlinkAccount(ctx, primaryId, provider, userId), 'unlink');
  }

  @Mutation(() => UndoLinkPayload, {
    description:
      'Takes back a link made through this service within LINK_UNDO_WINDOW: the secondary is restored as it was.',
  })
  async undoLink(
    @Arg('linkId', () => ID, { description: "The link's `linkId` (its account.linked event's webhook-id)." })
    linkId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<UndoResult> {
    try {
      return await undoLink(ctx, linkId);
    } finally {
      // Both users changed (or may have): out of the read cache before the answer (DESIGN §11).
      if (!(await ctx.invalidateTouchedUsers({ emails: [] }))) {
        ctx.logger().warn('read cache: invalidation not taken by Redis; kept and replayed once it answers');
      }
    }
  }

  @Query(() => User, { nullable: true, description: "The user of the caller's token." })
  me(@Ctx() ctx: GatewayContext): Promise<User | null> {
    return readMe(ctx);
  }

  @Query(() => User, {
    nullable: true,
    description: 'A user by Auth0 user id; the caller must be that user or hold the admin permission.',
  })
  user(
    @Arg('id', () => ID, { description: 'Auth0 user id, `<provider>|<id>`.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<User | null> {
    return readUser(ctx, id);
  }

  @Query(() => [User], {
    description:
      'Other users with the same verified email as `primaryId`: accounts the user may want to link.',
  })
  linkCandidates(
    @Arg('primaryId', () => ID, { description: 'Auth0 user id of the account to find candidates for.' })
    primaryId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<User[]> {
    return readLinkCandidates(ctx, primaryId).then((users) => limitCandidateExposure(users, ctx.auth.caller));
  }

  @Query(() => LinkPreview, {
    description: 'What linkAccounts with this input would do now, without doing it.',
  })
  linkPreview(
    @Args() { primaryId, input }: LinkAccountsArgs,
    @Ctx() ctx: GatewayContext,
  ): Promise<LinkPreview> {
    return previewLink(ctx, primaryId, input);
  }
}

// Auth0 answers a link/unlink with identities only; the primary's profile is read when asked.
// The change is done by then: if that read fails, the caller still learns it succeeded, with the
// identities Auth0 returned and the profile fields left null.
async function primaryAfterChange(change: AccountChange, ctx: GatewayContext): Promise<User> {
  try {
    return toUser(await ctx.auth0.getUser(change.primaryId));
  } catch (error) {
    ctx
      .logger()
      .warn({ err: error, primaryId: change.primaryId }, 'could not read the primary after the change');
    return {
      id: change.primaryId,
      identities: change.identities.map(toIdentity),
      email: null,
      emailVerified: null,
      name: null,
      picture: null,
      metadata: null,
    };
  }
}

/** `identities` and `user` of a link/unlink payload: both payloads resolve from an AccountChange. */
function createChangePayloadResolver(payload: typeof LinkAccountsPayload | typeof UnlinkAccountPayload) {
  @Resolver(() => payload)
  class ChangePayloadResolver {
    @FieldResolver(() => [Identity])
    identities(@Root() change: AccountChange): Identity[] {
      return change.identities.map(toIdentity);
    }

    @FieldResolver(() => User)
    user(@Root() change: AccountChange, @Ctx() ctx: GatewayContext): Promise<User> {
      return primaryAfterChange(change, ctx);
    }
  }
  return ChangePayloadResolver;
}

export const LinkAccountsPayloadResolver = createChangePayloadResolver(LinkAccountsPayload);

/** The fields only a link's payload has (DESIGN §15). */
@Resolver(() => LinkAccountsPayload)
export class LinkIdentityFieldsResolver {
  @FieldResolver(() => ID)
  linkId(@Root() change: AccountChange): string {
    return change.eventId ?? '';
  }

  @FieldResolver(() => ID)
  formerUserId(@Root() change: AccountChange): string {
    return change.secondaryId;
  }
}
export const UnlinkAccountPayloadResolver = createChangePayloadResolver(UnlinkAccountPayload);

type Metadata = Record<string, unknown>;

/** `User.userMetadata` and `User.appMetadata`, each behind its own rule (DESIGN §3). */
@Resolver(() => User)
export class UserMetadataResolver {
  @FieldResolver(() => GraphQLJSONObject, {
    nullable: true,
    description: "Auth0 `user_metadata`: the user's own preferences. For the user themself or an admin.",
  })
  userMetadata(@Root() user: User, @Ctx() ctx: GatewayContext): Metadata | null {
    authorizeMetadataRead(ctx.auth, user.id, 'userMetadata', {
      adminPermission: ctx.config.admin.permission,
    });
    return user.metadata?.user_metadata ?? null;
  }

  @FieldResolver(() => GraphQLJSONObject, {
    nullable: true,
    description:
      "Auth0 `app_metadata` (plans, roles, CRM ids: the tenant's, not the user's). Admins only; others get null with a FORBIDDEN error on this field.",
  })
  appMetadata(@Root() user: User, @Ctx() ctx: GatewayContext): Metadata | null {
    authorizeMetadataRead(ctx.auth, user.id, 'appMetadata', { adminPermission: ctx.config.admin.permission });
    return user.metadata?.app_metadata ?? null;
  }
}

/** `primary` and `restored` of undoLink's payload: each read when asked. */
@Resolver(() => UndoLinkPayload)
export class UndoLinkPayloadResolver {
  @FieldResolver(() => User)
  async primary(@Root() result: UndoResult, @Ctx() ctx: GatewayContext): Promise<User> {
    return toUser(await ctx.auth0.getUser(result.primaryId));
  }

  @FieldResolver(() => User)
  async restored(@Root() result: UndoResult, @Ctx() ctx: GatewayContext): Promise<User> {
    return toUser(await ctx.auth0.getUser(result.restoredId));
  }
}
