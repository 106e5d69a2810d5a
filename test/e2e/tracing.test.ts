// OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT): spans of one link, received over OTLP/HTTP.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { postGraphQL } from '../support/graphql-client.js';
import { startHarness } from '../support/harness.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
  attributes?: { key: string; value: OtlpValue }[];
}

/** A tiny OTLP/HTTP receiver (JSON encoding) on 127.0.0.1 that keeps every span it is sent. */
async function startReceiver(): Promise<{ endpoint: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
        };
        for (const r of body.resourceSpans ?? [])
          for (const s of r.scopeSpans ?? []) spans.push(...(s.spans ?? []));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function values(value: OtlpValue): string[] {
  if (value.arrayValue) return (value.arrayValue.values ?? []).flatMap(values);
  return [String(value.stringValue ?? value.intValue ?? value.boolValue ?? '')];
}

const attribute = (span: OtlpSpan, key: string) => span.attributes?.find((a) => a.key === key)?.value;

describe('tracing (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('exports the request, the operation and each Auth0 call of a link, with no token or id in them', async () => {
    const receiver = await startReceiver();
    const h = await startHarness({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
    try {
      const admin = await h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
      const response = await postGraphQL(
        h.url,
        {
          query:
            'mutation L($p: ID!, $i: LinkAccountsInput!) { linkAccounts(primaryId: $p, input: $i) { identities { id } } }',
          variables: { p: DEMO.users.alice, i: { admin: { provider: 'github', userId: '4031337' } } },
        },
        { token: admin, headers: { 'x-request-id': 'trace-test-request-1' } },
      );
      expect(response.body.errors).toBeUndefined();
      // The token the link used, from the gateway's cache (the emulator's journal keeps none).
      const serviceToken = await h.gateway.services.tokens.getToken();
      // Closing flushes the spans still batched.
      await h.close();

      const names = receiver.spans.map((s) => s.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'POST /graphql',
          'graphql mutation',
          'POST /oauth/token',
          'GET /api/v2/users/{id}',
          'POST /api/v2/users/{id}/identities',
        ]),
      );
      const server = receiver.spans.find((s) => s.name === 'POST /graphql')!;
      expect(values(attribute(server, 'http.request.header.x-request-id')!)).toEqual([
        'trace-test-request-1',
      ]);
      expect(values(attribute(server, 'http.response.status_code')!)).toEqual(['200']);
      const operation = receiver.spans.find((s) => s.name === 'graphql mutation')!;
      expect(operation.parentSpanId).toBe(server.spanId);
      const link = receiver.spans.find((s) => s.name === 'POST /api/v2/users/{id}/identities')!;
      expect(link.parentSpanId).toBe(operation.spanId);
      expect(values(attribute(link, 'http.response.status_code')!)).toEqual(['201']);
      expect(values(attribute(link, 'url.template')!)).toEqual(['/api/v2/users/{id}/identities']);

      const texts = receiver.spans.flatMap((s) => [
        s.name,
        ...(s.attributes ?? []).flatMap((a) => values(a.value)),
      ]);
      const secrets = [admin, serviceToken, DEMO.serviceClientSecret, DEMO.users.alice, '4031337', 'github|'];
      for (const secret of secrets) {
        expect(texts.filter((t) => t.includes(secret))).toEqual([]);
      }
    } finally {
      await h.close();
      await receiver.close();
    }
  });
});
