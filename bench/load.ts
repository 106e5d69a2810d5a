// A bounded closed-loop load generator: `concurrency` clients over keep-alive node:http sockets,
// each sending its next request as soon as the previous one answered, until `count` were sent.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface BenchRequest {
  method?: 'POST' | 'GET';
  /** Path (and query) on the run's origin; default: the run's URL. */
  path?: string;
  headers: Record<string, string>;
  body?: string;
}

/** What one response counts as: `null` for success, else a failure label (an error code). */
export type Classify = (status: number, body: string) => string | null;

export interface LoadOptions {
  url: string;
  concurrency: number;
  /** Requests to send; with `durationMs`, the most to send. */
  count: number;
  /** Stop sending after this long (requests under way finish); default: only `count` bounds the run. */
  durationMs?: number;
  /** Request number `i` (0-based within this run). */
  build(i: number): BenchRequest;
  classify: Classify;
  /** Called after every completed request with how many completed so far. */
  onProgress?(completed: number): void | Promise<void>;
}

export interface LoadResult {
  count: number;
  concurrency: number;
  elapsedMs: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  successes: number;
  /** Failure label → count. */
  failures: Record<string, number>;
}

interface Response {
  status: number;
  body: string;
}

function send(url: URL, agent: Agent, req: BenchRequest): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const outgoing = request(url, { method: req.method ?? 'POST', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies = new Float64Array(options.count);
  const failures: Record<string, number> = {};
  let successes = 0;
  let next = 0;
  let runStarted = 0;
  let completed = 0;

  const client = async () => {
    for (;;) {
      const i = next;
      if (i >= options.count) return;
      if (options.durationMs !== undefined && performance.now() - runStarted >= options.durationMs) return;
      next += 1;
      const req = options.build(i);
      const started = performance.now();
      let label: string | null;
      try {
        const res = await send(req.path === undefined ? url : new URL(req.path, url), agent, req);
        label = options.classify(res.status, res.body);
      } catch (error) {
        label = `NETWORK_${(error as NodeJS.ErrnoException).code ?? 'ERROR'}`;
      }
      latencies[i] = performance.now() - started;
      if (label === null) successes += 1;
      else failures[label] = (failures[label] ?? 0) + 1;
      completed += 1;
      await options.onProgress?.(completed);
    }
  };

  runStarted = performance.now();
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const elapsedMs = performance.now() - runStarted;
  agent.destroy();
  const sent = latencies.subarray(0, next).sort();
  return {
    count: next,
    concurrency: options.concurrency,
    elapsedMs,
    perSecond: (next * 1000) / elapsedMs,
    p50Ms: percentile(sent, 50),
    p99Ms: percentile(sent, 99),
    successes,
    failures,
  };
}

/** A GraphQL response: success when it has no `errors`; else the first error's extensions.code. */
export const classifyGraphQL: Classify = (status, body) => {
  let parsed: { errors?: { extensions?: { code?: string } }[] } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return `HTTP_${status}`;
  }
  const error = parsed?.errors?.[0];
  if (error) return error.extensions?.code ?? 'UNKNOWN';
  return status === 200 ? null : `HTTP_${status}`;
};

/** A direct Auth0 link call: 201 is success; otherwise the status and Auth0's errorCode. */
export const classifyAuth0Link: Classify = (status, body) => {
  if (status === 201) return null;
  try {
    const { errorCode } = JSON.parse(body) as { errorCode?: string };
    return errorCode ? `HTTP_${status}:${errorCode}` : `HTTP_${status}`;
  } catch {
    return `HTTP_${status}`;
  }
};
