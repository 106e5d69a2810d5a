// Every request the emulator received, in arrival order, with the status it answered. Bounded and
// redacted (DESIGN §9): the last MAX_JOURNAL_ENTRIES requests, and no credential in clear.
import { createHash } from 'node:crypto';
import type { Journal, JournalEntry, RouteName } from './types.js';

/** Most requests the journal keeps; older ones are dropped first. */
export const MAX_JOURNAL_ENTRIES = 10_000;

// Body and query fields that are credentials. `code` is single-use and `link_with` is the
// secondary's ID token that tests compare: both stay.
const SECRET_FIELDS = new Set([
  'password',
  'client_secret',
  'client_assertion',
  'code_verifier',
  'refresh_token',
  'access_token',
  // The signature of an export file's location: whoever has it can download the tenant's users.
  'sig',
]);
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * What the journal keeps of a secret: a short SHA-256 fingerprint, so a test can still tell which
 * token was sent (`journalFingerprint(token)`) without the journal holding one.
 */
export function journalFingerprint(secret: string): string {
  return `[sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 16)}]`;
}

/** `Bearer <token>` → `Bearer [sha256:…]`: the scheme stays readable. */
function redactHeaderValue(name: string, value: string): string {
  if (name === 'authorization' || name === 'proxy-authorization') {
    const space = value.indexOf(' ');
    return space > 0
      ? `${value.slice(0, space)} ${journalFingerprint(value.slice(space + 1))}`
      : journalFingerprint(value);
  }
  return journalFingerprint(value);
}

export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    copy[name] = SECRET_HEADERS.has(name) ? redactHeaderValue(name, value) : value;
  }
  return copy;
}

// An unparseable body is kept as text: credentials in it are cut out by name, JSON or form style.
const SECRET_IN_TEXT =
  /("?(?:password|client_secret|client_assertion|code_verifier|refresh_token|access_token)"?\s*[:=]\s*"?)([^"&,}\s]*)/g;

/** A parsed body (JSON object, form fields) or query with every credential field fingerprinted. */
export function redactFields(value: unknown): unknown {
  if (typeof value === 'string')
    return value.replace(
      SECRET_IN_TEXT,
      (_m, key: string, secret: string) => `${key}${journalFingerprint(secret)}`,
    );
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    copy[key] = SECRET_FIELDS.has(key) && typeof field === 'string' ? journalFingerprint(field) : field;
  }
  return copy;
}

export class RequestJournal implements Journal {
  private list: JournalEntry[] = [];

  constructor(private readonly max = MAX_JOURNAL_ENTRIES) {}

  /** Records a request now; the caller fills `body` and `status` as they become known. */
  begin(entry: JournalEntry): JournalEntry {
    this.list.push(entry);
    // Dropped in batches so a full journal does not copy itself on every request.
    if (this.list.length > this.max + this.max / 10) this.list = this.list.slice(-this.max);
    return entry;
  }

  entries(filter: { route?: RouteName; method?: string } = {}): JournalEntry[] {
    return this.kept().filter(
      (e) =>
        (filter.route === undefined || e.route === filter.route) &&
        (filter.method === undefined || e.method === filter.method.toUpperCase()),
    );
  }

  count(route?: RouteName): number {
    return route === undefined ? this.kept().length : this.entries({ route }).length;
  }

  clear(): void {
    this.list = [];
  }

  private kept(): JournalEntry[] {
    return this.list.length > this.max ? this.list.slice(-this.max) : this.list;
  }
}
