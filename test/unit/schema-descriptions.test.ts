import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedDirective,
  isSpecifiedScalarType,
  type GraphQLArgument,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { buildGatewaySchema } from '../../src/schema.js';

// What Federation 2 adds to every subgraph: not ours to describe.
const FEDERATION_TYPES = /^(_Any|_Service|_Entity|link__\w+|federation__\w+)$/;
const FEDERATION_ROOT_FIELDS = new Set(['_service', '_entities']);
const FEDERATION_DIRECTIVES = /^(link|key|composeDirective|federation__\w+)$/;

const undescribed = (description: string | null | undefined) => !description?.trim();

/** Schema coordinates (`Type.field(arg:)`) of every element of ours that has no description. */
function missingDescriptions(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const checkArgs = (owner: string, args: readonly GraphQLArgument[]) => {
    for (const arg of args) if (undescribed(arg.description)) missing.push(`${owner}(${arg.name}:)`);
  };
  const ours = (type: GraphQLNamedType) =>
    !isIntrospectionType(type) && !isSpecifiedScalarType(type) && !FEDERATION_TYPES.test(type.name);

  for (const type of Object.values(schema.getTypeMap()).filter(ours)) {
    if (undescribed(type.description)) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (FEDERATION_ROOT_FIELDS.has(field.name) && type === schema.getQueryType()) continue;
        const coordinate = `${type.name}.${field.name}`;
        if (undescribed(field.description)) missing.push(coordinate);
        checkArgs(coordinate, field.args);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (undescribed(field.description)) missing.push(`${type.name}.${field.name}`);
      }
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) {
        if (undescribed(value.description)) missing.push(`${type.name}.${value.name}`);
      }
    }
  }
  for (const directive of schema.getDirectives()) {
    if (isSpecifiedDirective(directive) || FEDERATION_DIRECTIVES.test(directive.name)) continue;
    if (undescribed(directive.description)) missing.push(`@${directive.name}`);
    checkArgs(`@${directive.name}`, directive.args);
  }
  return missing;
}

describe('schema descriptions (DESIGN §2: introspection is documentation)', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    ({ schema } = await buildGatewaySchema());
  });

  it('describes every type, field, argument, input field and enum value, root types included', () => {
    expect(missingDescriptions(schema)).toEqual([]);
  });

  it('describes the root Query and Mutation types', () => {
    expect(schema.getQueryType()?.description).toMatch(/\S/);
    expect(schema.getMutationType()?.description).toMatch(/\S/);
  });

  it('walks what it checks: an element without a description is reported by its coordinate', () => {
    const userType = schema.getType('User');
    if (!isObjectType(userType)) throw new Error('User is not an object type');
    const emailField = userType.getFields().email;
    const mutation = schema.getMutationType()!;
    const unlinkProvider = mutation.getFields().unlinkAccount.args.find((a) => a.name === 'provider')!;
    const saved = [mutation.description, emailField.description, unlinkProvider.description];
    try {
      mutation.description = null;
      emailField.description = '';
      unlinkProvider.description = undefined;
      expect(missingDescriptions(schema)).toEqual([
        'User.email',
        'Mutation',
        'Mutation.unlinkAccount(provider:)',
      ]);
    } finally {
      [mutation.description, emailField.description, unlinkProvider.description] = saved;
    }
  });
});
