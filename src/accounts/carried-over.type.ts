import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A role of the tenant (Auth0 RBAC), by id and name.' })
export class Role {
  @Field(() => ID, { description: 'Auth0 role id (`rol_…`).' })
  id!: string;

  @Field(() => String, { description: "The role's name." })
  name!: string;
}

@ObjectType({ description: 'A membership in an Auth0 organization, with the roles it gives there.' })
export class OrganizationMembership {
  @Field(() => ID, { description: 'Auth0 organization id (`org_…`).' })
  organizationId!: string;

  @Field(() => String, { nullable: true, description: "The organization's name; null when Auth0 gave none." })
  organizationName!: string | null;

  @Field(() => [Role], { description: 'The roles of this membership (organization member roles).' })
  roles!: Role[];
}

@ObjectType({
  description:
    'What a link carries over from the secondary (or, in a preview, what it would carry or discard): metadata keys, roles, organization memberships.',
})
export class CarriedOver {
  @Field(() => [String], { description: 'Top-level `user_metadata` keys.' })
  userMetadataKeys!: string[];

  @Field(() => [String], { description: 'Top-level `app_metadata` keys.' })
  appMetadataKeys!: string[];

  @Field(() => [Role], { description: 'Roles assigned to the user directly.' })
  roles!: Role[];

  @Field(() => [OrganizationMembership], { description: 'Organization memberships, each with its roles.' })
  organizations!: OrganizationMembership[];
}
