import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { Identity } from './identity.type.js';

@Directive('@key(fields: "id")')
@ObjectType({ description: 'An Auth0 user (a primary account) with all its identities.' })
export class User {
  @Field(() => ID, {
    description: 'Auth0 user id, `<provider>|<id>`, e.g. `auth0|6650a1b2c3d4e5f600000001`.',
  })
  id!: string;

  @Field(() => [Identity], {
    description: "The user's identities: the main identity first, then linked ones.",
  })
  identities!: Identity[];

  @Field(() => String, { nullable: true, description: 'Email address.' })
  email!: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Whether the email address is verified.' })
  emailVerified!: boolean | null;

  @Field(() => String, { nullable: true, description: 'Full name.' })
  name!: string | null;

  @Field(() => String, { nullable: true, description: 'URL of a profile picture.' })
  picture!: string | null;

  /**
   * Auth0's metadata objects, not fields: `userMetadata` and `appMetadata` resolve from them after
   * their own authorization (accounts.resolver.ts). Null when the user could not be read.
   */
  metadata!: { user_metadata?: Record<string, unknown>; app_metadata?: Record<string, unknown> } | null;
}
