import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import { GraphQLError, Lexer, TokenKind, type ValidationContext, type ValidationRule } from 'graphql';

/** Largest documents executed (DESIGN §13). */
export const DOCUMENT_LIMITS = { depth: 10, aliases: 15, directives: 50, tokens: 2000 } as const;

// A refusal is a validation error like any other: Apollo answers it GRAPHQL_VALIDATION_FAILED
// (graphql-armor's own default would report it as BAD_USER_INPUT).
const reportAsValidationError: GraphQLArmorRejectCallback = (context, error) => {
  context?.reportError(new GraphQLError(error.message));
};

/**
 * At most `max` lexical tokens. graphql-armor checks tokens in a hook Apollo Server does not catch
 * (its refusal would leave as an internal error); as a validation rule it is refused like the
 * other limits. It lexes the source again, once per distinct document (Apollo caches validated
 * ones).
 */
function maxTokensRule(max: number): ValidationRule {
  return (context: ValidationContext) => {
    const source = context.getDocument().loc?.source;
    if (source) {
      const lexer = new Lexer(source);
      let count = 0;
      while (lexer.advance().kind !== TokenKind.EOF) {
        if (++count > max) {
          context.reportError(new GraphQLError(`Token limit of ${max} exceeded.`));
          break;
        }
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
