/** Is `host` a loopback address (or absent: Node then connects to localhost)? */
export function isLoopbackHost(host: string | undefined): boolean;
