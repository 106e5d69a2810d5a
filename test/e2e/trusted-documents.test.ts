// TRUSTED_DOCUMENTS (DESIGN §13): only the documents of the manifest codegen writes run, named by
// Apollo Client's persisted-query hash or the GraphQL-over-HTTP proposal's documentId, or sent in full.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { linkAccounts } from '../../examples/link-accounts.js';
import { postGraphQL } from '../support/graphql-client.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';

const MANIFEST = resolve('examples/generated/persisted-documents.json');
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
const idOf = (operationName: string) =>
  Object.keys(manifest).find((id) => manifest[id].includes(` ${operationName}`))!;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const { alice, aliceGoogle } = DEMO.users;
const UNLISTED = 'query Unlisted { me { id email } }';

describe('trusted documents (TRUSTED_DOCUMENTS = the manifest codegen writes)', () => {
  let h: Harness;
  let tokens: Awaited<ReturnType<typeof demoTokens>>;

  beforeAll(async () => {
    h = await startHarness({ env: { TRUSTED_DOCUMENTS: MANIFEST, INTROSPECTION: 'false' } });
    tokens = await demoTokens(h.emulator);
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    h.emulator.tenant.reset();
    // Signing keys fetched once, so that "no Auth0 call" below means none at all.
    await postGraphQL(h.url, { documentId: `sha256:${idOf('Me')}` }, { token: tokens.bob });
    h.emulator.journal.clear();
  });

  const me = (body: Record<string, unknown>) =>
    postGraphQL<{ me: { id: string } }>(h.url, body, { token: tokens.alice });

  it('runs a listed document named by extensions.persistedQuery.sha256Hash (Apollo Client)', async () => {
    const result = await me({ extensions: { persistedQuery: { version: 1, sha256Hash: idOf('Me') } } });
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.me.id).toBe(alice);
  });

  it.each([
    ['sha256:<hex>', (id: string) => `sha256:${id}`],
    ['bare hex', (id: string) => id],
  ])('runs a listed document named by documentId as %s (GraphQL over HTTP)', async (_form, format) => {
    const result = await me({ documentId: format(idOf('Me')) });
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.me.id).toBe(alice);
  });

  it('runs a listed document named by documentId in a GET query string', async () => {
    const search = new URLSearchParams({ documentId: `sha256:${idOf('Me')}` });
    const response = await fetch(`${h.url}?${search}`, {
      headers: { authorization: `Bearer ${tokens.alice}`, 'apollo-require-preflight': 'true' },
    });
    expect(((await response.json()) as { data: { me: { id: string } } }).data.me.id).toBe(alice);
  });

  it.each([
    ['documentId', { documentId: `sha256:${sha256(UNLISTED)}` }],
    ['documentId with an operationName', { documentId: sha256(UNLISTED), operationName: 'Unlisted' }],
    [
      'a persistedQuery hash',
      { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(UNLISTED) } } },
    ],
    [
      'an APQ registration (hash and document)',
      { query: UNLISTED, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(UNLISTED) } } },
    ],
  ])(
    'refuses an unlisted id sent as %s with PERSISTED_QUERY_NOT_IN_LIST, before any Auth0 call',
    async (_how, body) => {
      const result = await me(body);
      expect(result.body.data).toBeUndefined();
      expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      expect(h.emulator.journal.count()).toBe(0);
    },
  );

  it('never registers an unlisted document under its hash (APQ is off with a list)', async () => {
    const hash = sha256(UNLISTED);
    await me({ query: UNLISTED, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    const later = await me({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(later.body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });

  it('refuses a full unlisted document with QUERY_NOT_IN_PERSISTED_QUERY_LIST, before any Auth0 call', async () => {
    const result = await me({ query: UNLISTED });
    expect(result.body.data).toBeUndefined();
    expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['QUERY_NOT_IN_PERSISTED_QUERY_LIST']);
    expect(h.emulator.journal.count()).toBe(0);
  });

  it("refuses a router's generated _entities query with QUERY_NOT_IN_PERSISTED_QUERY_LIST, before any Auth0 call", async () => {
    // What a federation router sends this subgraph to resolve User entities (docs/security.md).
    const result = await postGraphQL(
      h.url,
      {
        query:
          'query($representations:[_Any!]!){_entities(representations:$representations){...on User{id}}}',
        variables: { representations: [{ __typename: 'User', id: alice }] },
      },
      { token: tokens.admin },
    );
    expect(result.body.data).toBeUndefined();
    expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['QUERY_NOT_IN_PERSISTED_QUERY_LIST']);
    expect(h.emulator.journal.count()).toBe(0);
  });

  it('answers a persistedQuery extension without a hash with PERSISTED_QUERY_NOT_SUPPORTED (APQ is off)', async () => {
    const result = await me({ query: UNLISTED, extensions: { persistedQuery: { version: 1 } } });
    expect(result.body.data).toBeUndefined();
    expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_SUPPORTED']);
    expect(h.emulator.journal.count()).toBe(0);
  });

  it('runs a listed document sent in full, laid out differently: the typed example (examples/link-accounts.ts)', async () => {
    const linkWith = await h.emulator.tokens.idToken({ sub: aliceGoogle });
    const identities = await linkAccounts(h.url, tokens.alice, {
      primaryId: alice,
      input: { jwt: { linkWith } },
    });
    expect(identities.identities.map((i) => i.id)).toEqual([alice, aliceGoogle]);
  });

  it('withholds field suggestions while introspection is off (INTROSPECTION=false)', async () => {
    const result = await me({ query: '{ me { emial } }' });
    expect(result.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
    expect(result.text).not.toContain('"email"');
  });
});
