import { Field, ObjectType } from 'type-graphql';
import { Identity } from './identity.type.js';
import { User } from './user.type.js';

@ObjectType({ description: 'Result of linkAccounts.' })
export class LinkAccountsPayload {
  @Field(() => [Identity], {
    description: "The primary user's identities after linking, the main identity first.",
  })
  identities!: Identity[];

  @Field(() => User, { description: 'The primary user, as Auth0 has it after linking.' })
  user!: User;
}

@ObjectType({ description: 'Result of unlinkAccount.' })
export class UnlinkAccountPayload {
  @Field(() => [Identity], { description: "The primary user's remaining identities." })
  identities!: Identity[];

  @Field(() => User, { description: 'The primary user, as Auth0 has it after unlinking.' })
  user!: User;
}
