// Fails any test that opens a connection to a non-loopback address: tests talk only to
// servers they start on 127.0.0.1 (the emulator, the gateway, test subgraphs).
import net from 'node:net';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

export function isLoopbackHost(host: string | undefined): boolean {
  // net.connect defaults to localhost when no host is given.
  return host === undefined || host === '' || LOOPBACK.test(host.replace(/^\[|\]$/g, ''));
}

function hostOf(args: unknown[]): string | undefined {
  const [first, second] = args;
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; path?: string };
    if (options.path !== undefined) return 'localhost'; // Unix socket: local by definition
    return options.host;
  }
  if (typeof second === 'string') return second;
  return undefined;
}

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const host = hostOf(args);
  if (!isLoopbackHost(host)) {
    throw new Error(`network guard: tests may only connect to loopback, not to ${String(host)}`);
  }
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;
