import { readFileSync } from 'node:fs';
import newman, { type NewmanRunSummary } from 'newman';
import { EXAMPLE_OPERATIONS } from '../../src/frontend/example-operations.js';
import { killAllMain, printedUrls, runMain, waitForOutput } from '../support/main-process.js';

const COLLECTION = 'examples/postman/auth0-link-gateway.postman_collection.json';

function runCollection(options: newman.NewmanRunOptions): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) =>
    newman.run(options, (error, summary) => (error ? reject(error) : resolve(summary))),
  );
}

describe('the Postman collection (examples/postman), run by newman', () => {
  afterEach(killAllMain);

  it('passes every request against npm start, twice in a row (the run leaves the tenant as it was)', async () => {
    const gateway = runMain({ PORT: '0' });
    const urls = printedUrls(await waitForOutput(gateway, /^Auth0: \S+/m));
    const collection = JSON.parse(readFileSync(COLLECTION, 'utf8')) as object;

    // What a user does after importing it: set the two variables npm start prints.
    const summary = await runCollection({
      collection,
      iterationCount: 2,
      envVar: [
        { key: 'gatewayUrl', value: urls.graphql! },
        { key: 'auth0Origin', value: urls.auth0! },
      ],
      reporters: [],
    });

    const { requests, assertions, testScripts, prerequestScripts } = summary.run.stats;
    expect(summary.run.failures.map((f) => `${f.source?.name}: ${f.error.message}`)).toEqual([]);
    // Three token requests (user, linkWith, admin), made once: the second pass reuses the tokens.
    expect(requests).toMatchObject({ total: 2 * 6 + 3, failed: 0 });
    expect(assertions.total).toBe(2 * 12);
    expect(assertions.failed).toBe(0);
    expect(testScripts.failed).toBe(0);
    expect(prerequestScripts.failed).toBe(0);
    // Executions include the pre-request script's token requests, under the item that made them.
    const names = new Set(summary.run.executions.map((e) => e.item.name));
    expect([...names]).toEqual([
      'me',
      'linkPreview (jwt mode)',
      'linkAccounts (jwt mode)',
      'undoLink (user)',
      'linkAccounts (admin mode)',
      'unlinkAccount (admin)',
    ]);
  });
  it('sends the same operations as the demo page and the IDE', () => {
    const collection = JSON.parse(readFileSync(COLLECTION, 'utf8')) as {
      item: { request: { body: { graphql: { query: string } } } }[];
    };
    const queries = new Set(collection.item.map((i) => i.request.body.graphql.query));
    expect([...queries].sort()).toEqual(Object.values(EXAMPLE_OPERATIONS).sort());
  });
});
