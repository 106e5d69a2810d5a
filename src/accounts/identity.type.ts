import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({
  description: "Profile of a linked identity: the secondary account's root profile at the time of linking.",
})
export class IdentityProfile {
  @Field(() => String, { nullable: true, description: 'Email address of the identity.' })
  email!: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Whether the identity provider verified the email.' })
  emailVerified!: boolean | null;

  @Field(() => String, { nullable: true, description: 'Full name.' })
  name!: string | null;

  @Field(() => String, { nullable: true, description: 'Username, for connections that have one.' })
  username!: string | null;

  @Field(() => String, { nullable: true, description: 'Given (first) name.' })
  givenName!: string | null;

  @Field(() => String, { nullable: true, description: 'Family (last) name.' })
  familyName!: string | null;

  @Field(() => String, { nullable: true, description: 'Nickname.' })
  nickname!: string | null;

  @Field(() => String, { nullable: true, description: 'URL of a profile picture.' })
  picture!: string | null;

  @Field(() => String, { nullable: true, description: 'Phone number.' })
  phoneNumber!: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Whether the phone number is verified.' })
  phoneVerified!: boolean | null;
}

@ObjectType({
  description:
    'One identity (login) of an Auth0 user: the main identity first, then linked ones. Provider tokens are never exposed.',
})
export class Identity {
  @Field(() => ID, { description: 'Stable id `<provider>|<userId>`, for client caches.' })
  id!: string;

  @Field(() => String, {
    description: 'Identity provider (Auth0 strategy), e.g. `auth0`, `google-oauth2`, `github`.',
  })
  provider!: string;

  @Field(() => ID, {
    description: 'Id of the identity at its provider, without the provider prefix; always a string.',
  })
  userId!: string;

  @Field(() => String, { description: 'Name of the Auth0 connection the identity belongs to.' })
  connection!: string;

  @Field(() => Boolean, { description: 'Whether the identity comes from a social provider.' })
  isSocial!: boolean;

  @Field(() => IdentityProfile, {
    nullable: true,
    description: "Profile of a linked (secondary) identity; null for the user's main identity.",
  })
  profileData!: IdentityProfile | null;
}
