// RS256 verification per token in this process, on the same tokens: jose's `jwtVerify` (WebCrypto,
// what the gateway used before issue 12) against the gateway's verifier on node:crypto.
import { performance } from 'node:perf_hooks';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { verifyRs256Jwt } from '../../src/auth/verify-jwt.js';
import { fixed, formatTable } from '../report.js';
import type { Scenario } from './scenario.js';

const TOKENS = 2000;
const ROUNDS = 5;
const ISSUER = 'https://bench.tenant.example/';

async function run() {
  const pair = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const keys = createLocalJWKSet({ keys: [jwk] });
  const tokens: string[] = [];
  for (let i = 0; i < TOKENS; i += 1) {
    tokens.push(
      await new SignJWT({ sub: `auth0|bench-${i}`, aud: 'bench-client' })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'bench' })
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(pair.privateKey),
    );
  }
  const verifiers: [string, (token: string) => Promise<unknown>][] = [
    [
      'jose jwtVerify (WebCrypto)',
      (token) =>
        jwtVerify(token, keys, {
          algorithms: ['RS256'],
          issuer: ISSUER,
          clockTolerance: 5,
          requiredClaims: ['exp', 'sub'],
        }),
    ],
    [
      'verifyRs256Jwt (node:crypto)',
      async (token) => {
        const result = await verifyRs256Jwt(token, { keys, issuer: ISSUER, clockToleranceSeconds: 5 });
        if (!result.ok) throw new Error(`bench token refused: ${result.kind}`);
      },
    ],
  ];
  const perToken: number[][] = verifiers.map(() => []);
  for (const [, verify] of verifiers) for (const token of tokens.slice(0, 500)) await verify(token);
  // Alternated round by round, so both see the same machine load.
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [i, [, verify]] of verifiers.entries()) {
      const started = performance.now();
      for (const token of tokens) await verify(token);
      perToken[i].push(((performance.now() - started) * 1000) / TOKENS);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const [jose, node] = perToken.map(median);
  return {
    lines: [
      `RS256 verification in the bench process, ${TOKENS} tokens × ${ROUNDS} rounds each, alternated; µs per token (median round)`,
      formatTable(
        ['verifier', 'µs/token', 'rounds'],
        verifiers.map(([label], i) => [
          label,
          fixed(median(perToken[i]), 1),
          perToken[i].map((v) => fixed(v, 0)).join(' '),
        ]),
      ),
    ],
    targets: [
      {
        text: 'RS256 verification through node:crypto cheaper than through jose/WebCrypto',
        figure: `${fixed(node, 1)} vs ${fixed(jose, 1)} µs/token (${fixed(jose / node)}× faster)`,
        met: node < jose,
      },
    ],
  };
}

export const jwtVerification: Scenario = { name: 'jwt', run };
