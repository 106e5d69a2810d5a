// A real redis-server (Debian's) that speaks only TLS, on a loopback port, with a certificate made
// for the test by the `openssl` CLI (a throwaway CA and a server certificate for 127.0.0.1 and
// localhost) and an ACL user limited to the commands and key prefix the caller gives, as a managed
// Redis would hand out. `openssl` comes with Debian's ca-certificates; a missing one fails with
// one line (Node's crypto makes keys but cannot sign an X.509 certificate).
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  LOOPBACK,
  assertInstalled,
  launchOnFreePorts,
  makeTempDir,
  runProgram,
  toArgs,
  type AdminOptions,
} from './redis-cluster.js';

export interface TlsRedisOptions {
  aclUser: {
    name: string;
    password: string;
    /**
     * ACL command rules, e.g. `['get', 'set', '+@stream', '-flushall']`; a bare command name means
     * `+name`. The user starts with none.
     */
    commands: readonly string[];
    /** The user may touch keys starting with this (`~<prefix>*`), and every pub/sub channel. Default: every key. */
    keyPrefix?: string;
  };
}

export interface TlsRedis {
  readonly host: string;
  readonly port: number;
  /** `rediss://<user>:<password>@127.0.0.1:<port>`: the ACL user's URL (REDIS_URL). */
  readonly url: string;
  /** `rediss://127.0.0.1:<port>`, without credentials (for REDIS_USERNAME / REDIS_PASSWORD). */
  readonly address: string;
  /** The test CA's certificate (PEM): `tls: { ca }` in ioredis. */
  readonly caCert: string;
  /** The same in a file (NODE_EXTRA_CA_CERTS for a gateway process). */
  readonly caFile: string;
  /** A user that may do everything (the `default` user is off), with `tls`: for a test's inspector. */
  readonly admin: Required<Pick<AdminOptions, 'username' | 'password'>> & { tls: { ca: string } };
  /** Stops the server and removes the certificates. */
  stop(): Promise<void>;
}

/** A throwaway CA and a server certificate it signed for 127.0.0.1 and localhost, valid 2 days. */
async function makeCertificates(dir: string) {
  const file = (name: string) => join(dir, name);
  // EC P-256: generated in milliseconds, where RSA keys take a noticeable moment.
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await runProgram('openssl', [
    ...['req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2'],
    ...['-subj', '/CN=auth0-link-gateway test CA'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  ]);
  await runProgram('openssl', [
    ...['req', '-new', ...ecKey, '-keyout', file('server.key'), '-out', file('server.csr')],
    ...['-subj', '/CN=localhost'],
  ]);
  writeFileSync(
    file('server.ext'),
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  await runProgram('openssl', [
    ...['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key')],
    ...['-CAcreateserial', '-out', file('server.crt'), '-days', '2', '-extfile', file('server.ext')],
  ]);
  return { caFile: file('ca.crt'), certFile: file('server.crt'), keyFile: file('server.key') };
}

/**
 * Starts a redis-server listening only with TLS on a free port of 127.0.0.1 (clients need no
 * certificate of their own), whose only users are `aclUser` and an admin; `stop()` it in
 * `afterAll`.
 */
export async function startTlsRedis(options: TlsRedisOptions): Promise<TlsRedis> {
  const { name, password, commands, keyPrefix = '' } = options.aclUser;
  assertInstalled('redis-server');
  assertInstalled('openssl');
  if (/\s/.test(name + password) || commands.some((rule) => /\s/.test(rule))) {
    throw new Error('startTlsRedis: the ACL user, its password and its rules may not contain spaces');
  }
  const dir = makeTempDir('redis-tls-');
  try {
    const { caFile, certFile, keyFile } = await makeCertificates(dir.path);
    const admin = { username: 'test-admin', password: randomBytes(18).toString('base64url') };
    const rules = commands.map((rule) => (/^[a-z][\w|-]*$/i.test(rule) ? `+${rule}` : rule));
    const server = await launchOnFreePorts(1, ([port]) => [
      ...toArgs({
        port: 0,
        'tls-port': port,
        bind: LOOPBACK,
        'tls-cert-file': certFile,
        'tls-key-file': keyFile,
        'tls-ca-cert-file': caFile,
        'tls-auth-clients': 'no',
        save: '',
        appendonly: 'no',
        // Users on the command line, so no connection ever sees the server before they exist.
        user: ['default', 'off'],
      }),
      ...['--user', admin.username, 'on', `>${admin.password}`, '~*', '&*', '+@all'],
      ...['--user', name, 'on', `>${password}`, `~${keyPrefix}*`, '&*', ...rules],
    ]);
    const caCert = readFileSync(caFile, 'utf8');
    const address = `rediss://${LOOPBACK}:${server.port}`;
    return {
      host: LOOPBACK,
      port: server.port,
      url: `rediss://${encodeURIComponent(name)}:${encodeURIComponent(password)}@${LOOPBACK}:${server.port}`,
      address,
      caCert,
      caFile,
      admin: { ...admin, tls: { ca: caCert } },
      async stop() {
        await server.stop();
        dir.remove();
      },
    };
  } catch (error) {
    dir.remove();
    throw error;
  }
}
