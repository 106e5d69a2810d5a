// JSON Schema 2020-12 validation of Management API bodies against Auth0's published document.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { auth0OpenApiDocument, type JsonSchema } from './published-contract.js';

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module namespace.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const DOCUMENT_ID = 'auth0-management-api';
const API_PREFIX = '/api/v2';

/** One operation of the document, found by method and a concrete request path. */
export interface ContractRoute {
  method: string;
  /** The document's path template, e.g. `/users/{id}/identities`. */
  template: string;
}

/** Outcome of one check: `errors` lists where and why the body breaks the schema. */
export interface ContractCheck {
  valid: boolean;
  errors: string[];
}

function pointerSegment(value: string): string {
  return encodeURIComponent(value.replace(/~/g, '~0').replace(/\//g, '~1'));
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath || '(root)';
    const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
    return `${where} ${e.message ?? e.keyword}${extra}`;
  });
}

/**
 * Validates Management API request and success bodies against the OpenAPI document (the whole
 * document is loaded once, so its `$ref`s resolve as Auth0 wrote them). Paths are matched
 * against the document's templates after `/api/v2`.
 */
export class Auth0ContractValidator {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly templates: { template: string; pattern: RegExp }[];

  constructor() {
    const document = auth0OpenApiDocument();
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    // Auth0's own format (user `picture`): an absolute URI, which `URL` must be able to parse.
    this.ajv.addFormat('strict-uri', (value: string) => URL.canParse(value));
    // Auth0's own formats on the role and organization routes. The document names them without
    // defining them: these are readings of Auth0's ids and rules (unconfirmed where they go
    // further than "a non-empty string").
    this.ajv.addFormat('role-id', /^rol_[A-Za-z0-9]+$/);
    this.ajv.addFormat('organization-id', /^org_[A-Za-z0-9]+$/);
    this.ajv.addFormat('organization-name', /^[a-z0-9_-]+$/);
    this.ajv.addFormat('user-id-with-max-length', (value: string) => value.length > 0 && value.length <= 255);
    this.ajv.addFormat('html-color', /^#(?:[0-9a-fA-F]{3}){1,2}$/);
    this.ajv.addFormat(
      'strict-https-uri-or-null',
      (value: string) => URL.canParse(value) && value.startsWith('https:'),
    );
    this.ajv.addSchema(document as unknown as JsonSchema, DOCUMENT_ID);
    this.templates = Object.keys(document.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
  }

  /** The operation `method path` reaches (path as sent, with or without a query), if the document has it. */
  route(method: string, path: string): ContractRoute | undefined {
    const pathname = path.split('?')[0];
    if (!pathname.startsWith(`${API_PREFIX}/`)) return undefined;
    const rest = pathname.slice(API_PREFIX.length);
    const found = this.templates.find((t) => t.pattern.test(rest));
    const operation = found && auth0OpenApiDocument().paths[found.template][method.toLowerCase()];
    return found && operation ? { method: method.toLowerCase(), template: found.template } : undefined;
  }

  /** Checks a JSON request body of `route` against its `requestBody` schema. */
  checkRequest(route: ContractRoute, body: unknown): ContractCheck {
    return this.check(
      `#/paths/${pointerSegment(route.template)}/${route.method}/requestBody/content/application~1json/schema`,
      body,
    );
  }

  /**
   * Checks a JSON response body of `route` with `status` against the document's schema for it;
   * for a status the document gives no content, the body must be empty (`undefined` or `''`).
   */
  checkResponse(route: ContractRoute, status: number, body: unknown): ContractCheck {
    const responses = auth0OpenApiDocument().paths[route.template][route.method].responses;
    const answer = responses[String(status)];
    // A status the document gives no content (204 on the role and member writes): no body at all.
    if (answer && !answer.content) {
      const empty = body === undefined || body === '';
      return {
        valid: empty,
        errors: empty ? [] : [`${route.method} ${route.template} ${status} has no body`],
      };
    }
    if (!answer?.content?.['application/json']) {
      return {
        valid: false,
        errors: [`the document has no JSON ${status} answer for ${route.method} ${route.template}`],
      };
    }
    return this.check(
      `#/paths/${pointerSegment(route.template)}/${route.method}/responses/${status}/content/application~1json/schema`,
      body,
    );
  }

  /** Checks `body` against `#/components/schemas/<name>`. */
  checkSchema(name: string, body: unknown): ContractCheck {
    return this.check(`#/components/schemas/${pointerSegment(name)}`, body);
  }

  private check(pointer: string, body: unknown): ContractCheck {
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}${pointer}` });
      this.compiled.set(pointer, validate);
    }
    const valid = validate(body);
    return { valid, errors: valid ? [] : describe(validate.errors) };
  }
}
