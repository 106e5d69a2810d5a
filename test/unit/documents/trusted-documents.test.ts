import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { ConfigError } from '../../../src/config.js';
import { documentIdOf, sha256Hex } from '../../../src/documents/document-id.js';
import { TrustedDocuments } from '../../../src/documents/trusted-documents.js';
import { EXAMPLE_OPERATIONS } from '../../../src/frontend/example-operations.js';

const MANIFEST = 'examples/generated/persisted-documents.json';
const ME = 'query Me { me { id } }';

describe('the trusted documents manifest', () => {
  it("lists the demo page's operations under the ids the page sends (codegen's sha256 of the normal form)", () => {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
    for (const operation of Object.values(EXAMPLE_OPERATIONS)) {
      expect(Object.keys(manifest)).toContain(documentIdOf(operation));
    }
    expect(TrustedDocuments.load(MANIFEST).size).toBe(Object.keys(manifest).length);
  });

  it.each([
    ['an array', []],
    ['a key that is not a sha256', { abc: ME }],
    ['an id that is not the hash of its document', { [sha256Hex('query Other { me { id } }')]: ME }],
    ['a document that does not parse', { [sha256Hex('query {')]: 'query {' }],
    ['a document that is not a string', { [sha256Hex(ME)]: 42 }],
  ])('is refused at start, naming TRUSTED_DOCUMENTS, when it holds %s', (_title, manifest) => {
    expect(() => TrustedDocuments.from(manifest)).toThrow(ConfigError);
    expect(() => TrustedDocuments.from(manifest)).toThrow(/^TRUSTED_DOCUMENTS: /);
  });

  it('is refused at start when the file is missing', () => {
    expect(() => TrustedDocuments.load('no/such/manifest.json')).toThrow(/^TRUSTED_DOCUMENTS: cannot read/);
  });

  it('finds a document by sha256:<hex>, bare hex in either case, and nothing else', () => {
    const list = TrustedDocuments.from({ [sha256Hex(ME)]: ME });
    const id = sha256Hex(ME);
    expect(list.lookup(`sha256:${id}`)).toBe(ME);
    expect(list.lookup(id.toUpperCase())).toBe(ME);
    expect(list.lookup(`md5:${id}`)).toBeUndefined();
    expect(list.lookup(sha256Hex('query Other { me { id } }'))).toBeUndefined();
  });

  it('allows a listed document in full, also laid out differently, and nothing else', () => {
    const list = TrustedDocuments.from({ [sha256Hex(ME)]: ME });
    expect(list.allows(ME, parse(ME))).toBe(true);
    const relaid = 'query Me {\n  me {\n    id\n  }\n}';
    expect(list.allows(relaid, parse(relaid))).toBe(true);
    const other = 'query Me { me { id email } }';
    expect(list.allows(other, parse(other))).toBe(false);
  });
});
