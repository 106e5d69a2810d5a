// One in-process Auth0 emulator per test file, reset before each test, plus a small fetch helper.
import { afterAll, beforeAll, beforeEach } from '@jest/globals';
import {
  startAuth0Emulator,
  type Auth0Emulator,
  type EmulatorOptions,
} from '../../src/auth0-emulator/index.js';
import { expectAnswerMatchesContract } from './auth0-contract.js';

/** Starts an emulator for the file and resets its tenant before every test; call at the top of a describe. */
export function useEmulator(options: EmulatorOptions = {}): () => Auth0Emulator {
  let emulator: Auth0Emulator | undefined;
  beforeAll(async () => {
    emulator = await startAuth0Emulator(options);
  });
  beforeEach(() => emulator?.tenant.reset());
  afterAll(async () => {
    await emulator?.close();
  });
  return () => {
    if (!emulator) throw new Error('emulator not started');
    return emulator;
  };
}

export interface CallOptions {
  token?: string;
  json?: unknown;
  form?: Record<string, string>;
  /** Sent as-is with content-type application/json. */
  rawJson?: string;
  headers?: Record<string, string>;
  /**
   * false: skip holding the answer to Auth0's published contract (a fault rule answered it with a
   * scripted body). By default every Management API answer is checked: success bodies against the
   * OpenAPI document, error bodies against Auth0's error shape.
   */
  contract?: false;
}

export interface CallResult {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body parses, else the raw text. */
  body: unknown;
  text: string;
}

export async function call(
  emulator: Auth0Emulator,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.json !== undefined || options.rawJson !== undefined) {
    headers['content-type'] = 'application/json';
    body = options.rawJson ?? JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const response = await fetch(`${emulator.origin}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Left as text: some tests expect unparseable bodies.
  }
  if (options.contract !== false) expectAnswerMatchesContract(method, path, response.status, parsed);
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** Path of a user, encoded as node-auth0 encodes it. */
export function userPath(userId: string, suffix = ''): string {
  return `/api/v2/users/${encodeURIComponent(userId)}${suffix}`;
}
