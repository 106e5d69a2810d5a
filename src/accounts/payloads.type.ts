import { Field, ID, ObjectType } from 'type-graphql';
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

@ObjectType({ description: 'A role of the tenant (Auth0 RBAC).' })
export class Role {
  @Field(() => ID, { description: 'Auth0 role id (`rol_…`).' })
  id!: string;

  @Field(() => String, { description: "The role's name." })
  name!: string;
}

@ObjectType({ description: "A user's membership of an Auth0 organization, with that membership's roles." })
export class OrganizationMembership {
  @Field(() => ID, { description: 'Auth0 organization id (`org_…`).' })
  organizationId!: string;

  @Field(() => String, { nullable: true, description: "The organization's name, when Auth0 gave it." })
  organizationName!: string | null;

  @Field(() => [Role], { description: 'Roles the user holds in this organization.' })
  roles!: Role[];
}

@ObjectType({
  description:
    'What a link carried over from the secondary before Auth0 discarded it: merged metadata keys, roles and organization memberships.',
})
export class CarriedOver {
  @Field(() => [String], { description: '`user_metadata` keys added to or merged into the primary.' })
  userMetadataKeys!: string[];

  @Field(() => [String], {
    description: '`app_metadata` keys added to or merged into the primary (admin mode only).',
  })
  appMetadataKeys!: string[];

  @Field(() => [Role], {
    description:
      "The secondary's directly assigned roles, all now held by the primary (with `carryRoles`; else empty).",
  })
  roles!: Role[];

  @Field(() => [OrganizationMembership], {
    description:
      "The secondary's organization memberships with their roles, all now held by the primary (with `carryOrganizations`; else empty).",
  })
  organizations!: OrganizationMembership[];
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
