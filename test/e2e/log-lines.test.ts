// One key once per log line: pino writes `time`, `level`, `msg` and a child's bindings
// (`requestId`) itself, and a logged object that carries them again repeats the key in one JSON
// object. JSON.parse hides that (it keeps the last); Elasticsearch refuses the document.
import { DEMO } from '../../src/auth0-emulator/index.js';
import {
  LinkAccountsDocument,
  LinkCandidatesDocument,
  MeDocument,
  UnlinkAccountDocument,
  UserDocument,
} from '../generated/graphql.js';
import { codesOf, execute, postGraphQL } from '../support/graphql-client.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';
import { findDuplicateKeys } from '../support/json-duplicate-keys.js';

const { alice, aliceGoogle, aliceGithub, carol } = DEMO.users;

describe('findDuplicateKeys', () => {
  it.each([
    ['a top-level key', '{"time":1,"a":2,"time":"x"}', [{ path: '$', key: 'time' }]],
    ['a key deep inside arrays and objects', '{"a":[{"b":{"c":1,"c":2}}]}', [{ path: '$.a[0].b', key: 'c' }]],
    [
      'the same key written with an escape',
      '{"requestId":1,"request\\u0049d":2}',
      [{ path: '$', key: 'requestId' }],
    ],
  ])('finds %s', (_title, text, expected) => {
    expect(findDuplicateKeys(text)).toEqual(expected);
  });

  it.each([
    ['equal keys in sibling objects', '{"a":{"k":1},"b":{"k":2},"c":[{"k":1},{"k":2}]}'],
    ['keys inside string values', '{"msg":"{\\"a\\":1,\\"a\\":2}","a":"\\"a\\""}'],
    ['scalars and empty containers', '{"n":-1.5e3,"t":true,"f":false,"z":null,"o":{},"l":[]}'],
  ])('finds nothing in %s', (_title, text) => {
    expect(findDuplicateKeys(text)).toEqual([]);
  });

  it.each(['{"a":1', '{"a" 1}', '{"a":1}x', "{'a':1}"])('refuses malformed JSON %j', (text) => {
    expect(() => findDuplicateKeys(text)).toThrow(SyntaxError);
  });
});

describe('log lines of a mixed workload at LOG_LEVEL=trace', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'trace', AUTH0_TIMEOUT_MS: '1000' } });
    const tokens = await demoTokens(h.emulator);
    const link = (primaryId: string, input: object, token?: string, requestId?: string) =>
      execute(h.url, LinkAccountsDocument, { primaryId, input } as never, {
        token,
        headers: requestId ? { 'x-request-id': requestId } : {},
      });

    // Links: one that succeeds, refused by policy, refused locally, unauthenticated.
    const linked = await link(
      alice,
      { jwt: { linkWith: tokens.aliceGoogleIdToken } },
      tokens.alice,
      'mixed-1',
    );
    expect(linked.body.errors).toBeUndefined();
    expect(codesOf(await link(alice, { admin: { provider: 'auth0', userId: carol } }, tokens.admin))).toEqual(
      ['FORBIDDEN'],
    );
    expect(
      codesOf(await link('not-a-user-id', { admin: { provider: 'github', userId: '1' } }, tokens.admin)),
    ).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await link(alice, { admin: { provider: 'github', userId: aliceGithub } }))).toEqual([
      'UNAUTHENTICATED',
    ]);
    // Unlink what was linked while reads fail: the change stands, the primary's profile is logged
    // as unreadable (a warning with the error).
    h.emulator.faults.add({ route: 'get-user', status: 503, body: { error: 'down' }, times: 10 });
    const unlinked = await execute(
      h.url,
      UnlinkAccountDocument,
      { primaryId: alice, provider: 'google-oauth2', userId: aliceGoogle },
      { token: tokens.alice },
    );
    expect(unlinked.body.errors).toBeUndefined();
    h.emulator.faults.clear();
    // Reads, entities included.
    await execute(h.url, MeDocument, {}, { token: tokens.alice });
    await execute(h.url, UserDocument, { id: carol }, { token: tokens.admin });
    await execute(h.url, LinkCandidatesDocument, { primaryId: alice }, { token: tokens.alice });
    await postGraphQL(
      h.url,
      {
        query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }',
        variables: { r: [{ __typename: 'User', id: alice }] },
      },
      { token: tokens.admin },
    );
    // Upstream faults: a 5xx on a read (retried, then UPSTREAM_ERROR) and a reset link.
    h.emulator.faults.add({ route: 'get-user', status: 503, body: { error: 'down' }, times: 10 });
    expect(codesOf(await execute(h.url, UserDocument, { id: carol }, { token: tokens.admin }))).toEqual([
      'UPSTREAM_ERROR',
    ]);
    h.emulator.faults.clear();
    h.emulator.faults.add({ route: 'link', destroy: 'before-headers', times: 1 });
    expect(
      codesOf(await link(alice, { admin: { provider: 'github', userId: aliceGithub } }, tokens.admin)),
    ).toEqual(['UPSTREAM_ERROR']);
    h.emulator.faults.clear();
    // The HTTP surface around GraphQL.
    await fetch(h.gateway.origin + '/readyz');
    await fetch(h.gateway.origin + '/no-such-path');
  });
  afterAll(async () => {
    await h?.close();
  });

  const parsed = () => h.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);

  it('covers what it claims: audit, debug and warning lines, with and without a request', () => {
    const lines = parsed();
    expect(lines.filter((l) => l.audit === true).length).toBeGreaterThanOrEqual(6);
    expect(lines.some((l) => l.msg === 'auth0 call')).toBe(true);
    expect(lines.some((l) => typeof l.level === 'number' && l.level >= 40)).toBe(true);
    expect(lines.some((l) => typeof l.requestId === 'string')).toBe(true);
  });

  it('repeats no key in any line, at any depth', () => {
    const offending = h.logLines
      .map((line) => ({ line, duplicates: findDuplicateKeys(line) }))
      .filter((entry) => entry.duplicates.length > 0);
    expect(offending).toEqual([]);
  });

  it('gives audit lines the logger’s requestId and ISO time, once each', () => {
    const audits = h.logLines.filter((line) => JSON.parse(line).audit === true);
    const first = JSON.parse(audits[0]) as Record<string, unknown>;
    expect(first).toMatchObject({ event: 'account.link', outcome: 'success', requestId: 'mixed-1' });
    for (const line of audits) {
      expect(line.match(/"requestId":/g)).toHaveLength(1);
      expect(line.match(/"time":/g)).toHaveLength(1);
      expect(new Date(JSON.parse(line).time as string).toISOString()).toBe(JSON.parse(line).time);
    }
  });
});

describe('LOG_LEVEL=warn', () => {
  let h: Harness;
  afterAll(async () => {
    await h?.close();
  });

  it('drops audit lines (they are info) and keeps warnings', async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'warn' } });
    const tokens = await demoTokens(h.emulator);
    const linked = await execute(
      h.url,
      LinkAccountsDocument,
      { primaryId: alice, input: { jwt: { linkWith: tokens.aliceGoogleIdToken } } },
      { token: tokens.alice },
    );
    expect(linked.body.errors).toBeUndefined();
    expect(
      codesOf(
        await execute(
          h.url,
          LinkAccountsDocument,
          { primaryId: alice, input: { admin: { provider: 'auth0', userId: carol } } },
          { token: tokens.admin },
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    // An unlink while reads fail: applied, and the unreadable profile is a warning.
    h.emulator.faults.add({ route: 'get-user', status: 503, body: { error: 'down' }, times: 10 });
    const unlinked = await execute(
      h.url,
      UnlinkAccountDocument,
      { primaryId: alice, provider: 'google-oauth2', userId: aliceGoogle },
      { token: tokens.alice },
    );
    expect(unlinked.body.errors).toBeUndefined();

    const lines = h.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => line.audit === true)).toEqual([]);
    expect(lines.some((line) => line.level === 40)).toBe(true);
    expect(lines.every((line) => typeof line.level === 'number' && line.level >= 40)).toBe(true);
  });
});
