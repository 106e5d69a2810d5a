import { Directive, Field, ID, InputType } from 'type-graphql';

@InputType({
  description:
    "User-initiated link: the request's bearer token is the primary user's Management API token and is forwarded to Auth0.",
})
export class JwtLinkInput {
  @Field(() => String, {
    description:
      'ID token (RS256, same tenant) of the secondary account, proving its owner just signed in; its `aud` must equal the `azp` of the bearer token.',
  })
  linkWith!: string;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description:
      "Before linking, deep-merge the secondary's `user_metadata` (not `app_metadata`: it belongs to the tenant) into the primary's, the primary's values winning (Auth0 discards the secondary's metadata on link); undone if the link fails.",
  })
  mergeMetadata?: boolean | null;
}

@InputType({
  description:
    "Server-side link by a caller holding the admin permission; the service's own Management API token is used.",
})
export class AdminLinkInput {
  @Field(() => String, { description: 'Provider of the secondary identity, e.g. `google-oauth2`.' })
  provider!: string;

  @Field(() => ID, {
    description:
      'Id of the secondary identity without the provider prefix (`1080…` for `google-oauth2|1080…`); the full `<provider>|<id>` form is accepted and the prefix stripped.',
  })
  userId!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Auth0 connection id (`con_…`) of the secondary, when several database connections exist.',
  })
  connectionId?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description:
      "Before linking, deep-merge the secondary's `user_metadata` and `app_metadata` into the primary's, the primary's values winning (Auth0 discards the secondary's metadata on link); undone if the link fails.",
  })
  mergeMetadata?: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description:
      "Before linking, give the primary the secondary's directly assigned roles it lacks (Auth0 drops them on link); removed again if the link is known not to have happened.",
  })
  carryRoles?: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description:
      "Before linking, make the primary a member of the secondary's organizations, with that membership's roles, where it lacks them (Auth0 drops the secondary's memberships on link); removed again if the link is known not to have happened.",
  })
  carryOrganizations?: boolean | null;
}

// Members are nullable and have no initialisers: a default value is illegal on a OneOf field.
// `@oneOf` prints in the SDL; schema.ts turns it into a real OneOf input (graphql-js enforces it).
@Directive('@oneOf')
@InputType({ description: 'Exactly one mode: `jwt` (user-initiated) or `admin` (server-side).' })
export class LinkAccountsInput {
  @Field(() => JwtLinkInput, {
    nullable: true,
    description: 'User-initiated link with the end user’s own token.',
  })
  jwt?: JwtLinkInput;

  @Field(() => AdminLinkInput, { nullable: true, description: 'Server-side link with the admin permission.' })
  admin?: AdminLinkInput;
}
