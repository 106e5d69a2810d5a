import { ArgsType, Field, ID } from 'type-graphql';
import { LinkAccountsInput } from './link-accounts.input.js';

// Argument classes keep the contract's argument order in the SDL (parameter decorators would
// print them reversed).

@ArgsType()
export class LinkAccountsArgs {
  @Field(() => ID, { description: 'Auth0 user id of the primary account, e.g. `auth0|…`.' })
  primaryId!: string;

  @Field(() => LinkAccountsInput, { description: 'The secondary account, in exactly one mode.' })
  input!: LinkAccountsInput;
}

@ArgsType()
export class UnlinkAccountArgs {
  @Field(() => ID, { description: 'Auth0 user id of the primary account.' })
  primaryId!: string;

  @Field(() => String, { description: 'Provider of the identity to detach, e.g. `google-oauth2`.' })
  provider!: string;

  @Field(() => ID, {
    description: 'Id of the identity to detach, without the provider prefix (the full form is accepted).',
  })
  userId!: string;
}
