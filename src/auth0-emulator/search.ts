// The subset of Auth0's v3 user search (Lucene) syntax the emulator understands:
// field:"value", field:value, field:value*, field:("a" OR "b"), terms joined by AND / OR (AND binds tighter).
import type { StoredUser } from './state.js';

export interface SearchTerm {
  field: string;
  /** Any of these matches; a trailing `*` on an unquoted value is a prefix match. */
  values: { text: string; prefix: boolean }[];
}

/** Disjunction of conjunctions. An empty list matches everyone. */
export type SearchQuery = SearchTerm[][];

export class SearchSyntaxError extends Error {}

function splitTopLevel(q: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < q.length; i += 1) {
    const ch = q[i];
    if (quoted) {
      current += ch;
      if (ch === '\\' && i + 1 < q.length) current += q[++i];
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    if (depth < 0) throw new SearchSyntaxError('unbalanced parentheses');
    if (/\s/.test(ch) && depth === 0) {
      if (current) tokens.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quoted || depth !== 0) throw new SearchSyntaxError('unterminated quote or parenthesis');
  if (current) tokens.push(current);
  return tokens;
}

function parseValue(raw: string): { text: string; prefix: boolean } {
  const quoted = /^"((?:[^"\\]|\\.)*)"$/s.exec(raw);
  if (quoted) return { text: quoted[1].replace(/\\(.)/g, '$1'), prefix: false };
  if (raw.includes('"') || raw.length === 0) throw new SearchSyntaxError(`bad value ${raw}`);
  return raw.endsWith('*') ? { text: raw.slice(0, -1), prefix: true } : { text: raw, prefix: false };
}

function parseTerm(token: string): SearchTerm {
  const match = /^([A-Za-z0-9_.]+):(.+)$/s.exec(token);
  if (!match) throw new SearchSyntaxError(`expected field:value, got ${token}`);
  const [, field, rest] = match;
  if (rest.startsWith('(')) {
    if (!rest.endsWith(')')) throw new SearchSyntaxError(`bad group ${rest}`);
    const inner = splitTopLevel(rest.slice(1, -1));
    const values = inner.filter((_, i) => i % 2 === 0).map(parseValue);
    if (inner.length === 0 || inner.some((t, i) => i % 2 === 1 && t !== 'OR') || inner.length % 2 === 0) {
      throw new SearchSyntaxError(`bad group ${rest}`);
    }
    return { field, values };
  }
  return { field, values: [parseValue(rest)] };
}

export function parseSearchQuery(q: string | undefined): SearchQuery {
  if (q === undefined || q.trim() === '') return [];
  const tokens = splitTopLevel(q.trim());
  const groups: SearchQuery = [[]];
  tokens.forEach((token, i) => {
    if (i % 2 === 1) {
      if (token === 'OR') groups.push([]);
      else if (token !== 'AND') throw new SearchSyntaxError(`expected AND or OR, got ${token}`);
      return;
    }
    groups[groups.length - 1].push(parseTerm(token));
  });
  if (tokens.length % 2 === 0) throw new SearchSyntaxError('query ends with an operator');
  return groups;
}

function fieldValues(user: StoredUser, field: string): unknown[] {
  if (field === 'user_id') return [user.user_id];
  if (field === 'created_at' || field === 'updated_at') return [user[field]];
  const [head, ...rest] = field.split('.');
  if (head === 'identities') {
    return user.identities.map((identity) => (rest.length ? identity[rest.join('.')] : undefined));
  }
  if (head === 'user_metadata' || head === 'app_metadata') {
    let value: unknown = user[head];
    for (const key of rest) value = (value as Record<string, unknown> | undefined)?.[key];
    return [value];
  }
  return [user.profile[field]];
}

function termMatches(user: StoredUser, term: SearchTerm): boolean {
  // Email search is treated case-insensitively (unconfirmed; Auth0 normalises emails in its index).
  const fold = term.field === 'email' ? (s: string) => s.toLowerCase() : (s: string) => s;
  return fieldValues(user, term.field).some((raw) => {
    if (raw === undefined || raw === null || typeof raw === 'object') return false;
    const value = fold(String(raw));
    return term.values.some((v) => (v.prefix ? value.startsWith(fold(v.text)) : value === fold(v.text)));
  });
}

export function matchesQuery(user: StoredUser, query: SearchQuery): boolean {
  return query.length === 0 || query.some((group) => group.every((term) => termMatches(user, term)));
}

/**
 * What search answers from: the live tenant, or a copy taken by `lag()` until `catchUp()`. Auth0
 * documents its user search as eventually consistent: right after a write, search can still show
 * the tenant as it was, while `GET /api/v2/users/{id}` shows the change.
 */
export class SearchIndex {
  private snapshot?: StoredUser[];

  lag(live: StoredUser[]): void {
    this.snapshot = structuredClone(live);
  }

  catchUp(): void {
    this.snapshot = undefined;
  }

  users(live: StoredUser[]): StoredUser[] {
    return this.snapshot ?? live;
  }
}
