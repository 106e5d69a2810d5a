import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import {
  GraphQLError,
  TokenKind,
  type ParseOptions,
  type Token,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** Largest documents executed (DESIGN §13); comments count as tokens. */
export const DOCUMENT_LIMITS = { depth: 10, aliases: 15, directives: 50, tokens: 2000 } as const;

/**
 * Bounds on parsing itself (Apollo's `parseOptions`), checked by graphql-js as it reads a document,
 * before it has built it and before any limit above can be checked: its length (a long string or
 * comment is in it) and its counts of tokens and of comments (graphql-js counts comments apart).
 * They sit well above DOCUMENT_LIMITS, so a document just over a limit is refused by that limit
 * (GRAPHQL_VALIDATION_FAILED); one far beyond fails to parse (GRAPHQL_PARSE_FAILED).
 */
export const PARSE_LIMITS = {
  maxSourceLength: 64 * 1024,
  maxTokens: 4 * DOCUMENT_LIMITS.tokens,
  maxComments: 4 * DOCUMENT_LIMITS.tokens,
} as const satisfies ParseOptions;

// A refusal is a validation error like any other: Apollo answers it GRAPHQL_VALIDATION_FAILED
// (graphql-armor's own default would report it as BAD_USER_INPUT).
const reportAsValidationError: GraphQLArmorRejectCallback = (context, error) => {
  context?.reportError(new GraphQLError(error.message));
};

/**
 * At most `max` lexical tokens, comments included: a comment costs the parser as much as any
 * token, and graphql-js's own count (and graphql-armor's) skips them. graphql-armor checks tokens
 * in a hook Apollo Server does not catch (its refusal would leave as an internal error); as a
 * validation rule it is refused like the other limits. It walks the token list the parser kept
 * (comments are linked in it), once per distinct document (Apollo caches validated ones).
 */
function maxTokensRule(max: number): ValidationRule {
  return (context: ValidationContext) => {
    let token: Token | null | undefined = context.getDocument().loc?.startToken;
    let count = 0;
    for (; token && token.kind !== TokenKind.EOF; token = token.next) {
      if (token.kind !== TokenKind.SOF && ++count > max) {
        context.reportError(new GraphQLError(`Token limit of ${max} exceeded.`));
        break;
      }
    }
    return {};
  };
}

/**
 * Depth, aliases, directives and tokens bounded before execution, so a document cannot make the
 * gateway (or Auth0, through many aliased fields) do unbounded work. Field suggestions ("Did you
 * mean …") are withheld when introspection is off, so they cannot rebuild the schema either. A
 * router's `_entities` query stays small however many representations it resolves: those are
 * variables, not tokens.
 *
 * The depth count skips `__schema` subtrees (graphql-armor's `ignoreIntrospection`): the standard
 * introspection query that GraphiQL and schema tools send nests `ofType` deeper than 10. What
 * stops the introspection blow-up (`fields { type { fields … } }`) is graphql-js's
 * MaxIntrospectionDepthRule, which Apollo Server runs with every specified rule (pinned by
 * test/e2e/hostile-callers.test.ts).
 */
export function documentLimits(options: { introspection: boolean }): {
  plugins: ApolloServerPlugin[];
  validationRules: ValidationRule[];
} {
  const onRejection = { propagateOnRejection: false, onReject: [reportAsValidationError] };
  const armor = new ApolloArmor({
    maxDepth: { n: DOCUMENT_LIMITS.depth, ...onRejection },
    maxAliases: { n: DOCUMENT_LIMITS.aliases, ...onRejection },
    maxDirectives: { n: DOCUMENT_LIMITS.directives, ...onRejection },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: !options.introspection },
  });
  const { plugins, validationRules } = armor.protect();
  return {
    plugins: plugins as ApolloServerPlugin[],
    validationRules: [...(validationRules as ValidationRule[]), maxTokensRule(DOCUMENT_LIMITS.tokens)],
  };
}
