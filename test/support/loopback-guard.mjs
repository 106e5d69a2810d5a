// The network guard: any TCP connection to an address other than loopback throws. Plain
// JavaScript, so that it also loads into the node processes tests start (`--import`, added to
// NODE_OPTIONS by `loopbackOnlyEnv` in network-guard.ts): the gateway, its CLIs, the examples.
// Tests talk only to servers they start on 127.0.0.1 (the emulator, Redis, gateways, receivers).
import net from 'node:net';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

/** @param {string | undefined} host */
export function isLoopbackHost(host) {
  // net.connect defaults to localhost when no host is given.
  return host === undefined || host === '' || LOOPBACK.test(host.replace(/^\[|\]$/g, ''));
}

/** @param {unknown[]} args the arguments of `socket.connect` */
function hostOf(args) {
  // net.connect() and http's agents pass their arguments normalised: one array, [options, callback].
  if (Array.isArray(args[0])) return hostOf(args[0]);
  const [first, second] = args;
  if (typeof first === 'object' && first !== null) {
    const options = /** @type {{ host?: string; path?: string }} */ (first);
    if (options.path !== undefined) return 'localhost'; // Unix socket: local by definition
    return options.host;
  }
  if (typeof second === 'string') return second;
  return undefined;
}

const GUARDED = Symbol.for('auth0-link-gateway.loopback-guard');

if (!net.Socket.prototype[GUARDED]) {
  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(...args) {
    const host = hostOf(args);
    if (!isLoopbackHost(host)) {
      const message = `network guard: tests may only connect to loopback, not to ${String(host)}`;
      // In a child process the error may be caught and turned into an answer: say it on stderr too.
      process.stderr.write(`${message}\n`);
      throw new Error(message);
    }
    return originalConnect.apply(this, args);
  };
  net.Socket.prototype[GUARDED] = true;
}
