import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';
import { CarriedOver } from './carried-over.type.js';
import { Identity } from './identity.type.js';

@ObjectType({ description: 'Why linkAccounts with this input would be refused now.' })
export class LinkRefusal {
  @Field(() => String, { description: 'The `extensions.code` linkAccounts would answer (DESIGN §4).' })
  code!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The `extensions.reason` linkAccounts would answer; null when it would give none.',
  })
  reason!: string | null;

  @Field(() => String, { description: 'The message linkAccounts would answer.' })
  message!: string;
}

@ObjectType({ description: 'What linkAccounts with this input would do now, without doing it.' })
export class LinkPreview {
  @Field(() => Boolean, { description: 'Whether the link would be made (or found already made).' })
  allowed!: boolean;

  @Field(() => LinkRefusal, {
    nullable: true,
    description:
      'The error the link would get now (same code and reason as linkAccounts); null when allowed.',
  })
  refusal!: LinkRefusal | null;

  @Field(() => [Identity], {
    description: "The primary's identities after the link, the main identity first; empty when refused.",
  })
  identitiesAfter!: Identity[];

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: "The primary's `user_metadata` after the link, with `mergeMetadata`; else null.",
  })
  userMetadataAfter!: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description:
      "The primary's `app_metadata` after the link, in admin mode with `mergeMetadata`; else null.",
  })
  appMetadataAfter!: Record<string, unknown> | null;

  @Field(() => CarriedOver, {
    nullable: true,
    description:
      'What the input would carry over from the secondary (merged metadata keys, roles and memberships the primary lacks); null when nothing is asked.',
  })
  carriedOver!: CarriedOver | null;

  @Field(() => CarriedOver, {
    description:
      "What Auth0 would discard that this input does not carry: the secondary's metadata keys whose values the primary would not hold, its roles and its memberships.",
  })
  discarded!: CarriedOver;

  @Field(() => Int, {
    description:
      'Management API calls the link would make (reads, PATCH, role and membership writes, the link); for a refusal, those it would make before it is refused.',
  })
  auth0Calls!: number;
}
