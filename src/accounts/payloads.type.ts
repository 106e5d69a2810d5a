import { Field, ID, ObjectType } from 'type-graphql';
import { CarriedOver } from './carried-over.type.js';
import { Identity } from './identity.type.js';
import { User } from './user.type.js';

@ObjectType({
  description:
    'What the link carried over from the secondary before Auth0 discarded it: the top-level metadata keys that changed in the primary.',
})
export class MergedMetadata {
  @Field(() => [String], { description: '`user_metadata` keys added to or merged into the primary.' })
  userMetadataKeys!: string[];

  @Field(() => [String], {
    description:
      '`app_metadata` keys added to or merged into the primary (admin mode only; empty in JWT mode).',
  })
  appMetadataKeys!: string[];
}

@ObjectType({ description: 'Result of linkAccounts.' })
export class LinkAccountsPayload {
  @Field(() => [Identity], {
    description: "The primary user's identities after linking, the main identity first.",
  })
  identities!: Identity[];

  @Field(() => User, { description: 'The primary user, as Auth0 has it after linking.' })
  user!: User;

  @Field(() => MergedMetadata, {
    nullable: true,
    description: 'The metadata merge, when `mergeMetadata` was asked; null otherwise.',
  })
  mergedMetadata!: MergedMetadata | null;

  @Field(() => ID, {
    description:
      "Id of this link (the account.linked event's webhook-id). A repeated link answers the first link's id.",
  })
  linkId!: string;

  @Field(() => ID, {
    description: 'The secondary\'s user id before the link ("github|123"): evict it from client caches.',
  })
  formerUserId!: string;

  @Field(() => CarriedOver, {
    nullable: true,
    description:
      'What the link carried over from the secondary; null when nothing was asked (no `mergeMetadata`, `carryRoles` or `carryOrganizations`).',
  })
  carriedOver!: CarriedOver | null;
}

@ObjectType({ description: 'Result of unlinkAccount.' })
export class UnlinkAccountPayload {
  @Field(() => [Identity], { description: "The primary user's remaining identities." })
  identities!: Identity[];

  @Field(() => User, { description: 'The primary user, as Auth0 has it after unlinking.' })
  user!: User;
}

@ObjectType({ description: 'Result of undoLink.' })
export class UndoLinkPayload {
  @Field(() => User, { description: 'The primary user, as Auth0 has it after the undo.' })
  primary!: User;

  @Field(() => User, { description: 'The former secondary, standalone again, as it was before the link.' })
  restored!: User;

  @Field(() => [String], {
    description:
      'Keys, roles or memberships of the primary changed since the link and therefore left as they are.',
  })
  keptOnPrimary!: string[];
}
