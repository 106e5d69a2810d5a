// The plan's grouping and primary rules as a pure function (DESIGN §16), and the progress lines.
import { describe, expect, it } from '@jest/globals';
import {
  buildPlan,
  parsePlan,
  parsePrimaryRule,
  serializePlan,
  type TenantUser,
} from '../../../src/dedupe/plan.js';
import { createProgressReporter } from '../../../src/dedupe/terminal.js';

const user = (userId: string, extra: Partial<TenantUser> = {}): TenantUser => ({
  userId,
  email: 'a@example.com',
  emailVerified: true,
  createdAt: '2020-01-01T00:00:00.000Z',
  loginsCount: null,
  lastLogin: null,
  connection: null,
  ...extra,
});

const options = { tenant: 'https://t.example', source: 'users-list' as const, callsPerSecond: 15 };

describe('buildPlan', () => {
  it('counts a user id seen twice (a page read while the tenant changed) once', () => {
    const plan = buildPlan([user('auth0|1'), user('auth0|2'), user('auth0|1')], {
      ...options,
      rule: { kind: 'oldest' },
    });
    expect(plan.totals).toEqual({ users: 2, unverifiedUsers: 0, groups: 1, links: 1 });
  });

  it('leaves a user without email or with an unverified one out of every group', () => {
    const plan = buildPlan(
      [user('auth0|1'), user('auth0|2', { emailVerified: false }), user('auth0|3', { email: null })],
      { ...options, rule: { kind: 'oldest' } },
    );
    expect(plan.groups).toEqual([]);
    expect(plan.totals.unverifiedUsers).toBe(2);
  });

  it('puts a user with no created_at after every dated one under the oldest rule', () => {
    const plan = buildPlan(
      [user('auth0|1', { createdAt: null }), user('auth0|2', { createdAt: '2023-01-01T00:00:00Z' })],
      {
        ...options,
        rule: { kind: 'oldest' },
      },
    );
    expect(plan.groups[0].primary).toBe('auth0|2');
  });

  it('ranks users who never logged in last under last-login', () => {
    const plan = buildPlan(
      [
        user('auth0|1'),
        user('auth0|2', { lastLogin: '2021-01-01T00:00:00Z', createdAt: '2022-01-01T00:00:00Z' }),
      ],
      { ...options, rule: { kind: 'last-login' } },
    );
    expect(plan.groups[0]).toMatchObject({ primary: 'auth0|2', secondaries: ['auth0|1'] });
  });

  it('estimates three Auth0 calls per link at the configured rate, six with undo records', () => {
    const users = ['auth0|1', 'auth0|2', 'auth0|3', 'auth0|4', 'auth0|5', 'auth0|6'].map((id) => user(id));
    expect(buildPlan(users, { ...options, rule: { kind: 'oldest' } }).estimate).toEqual({
      auth0Calls: 15,
      callsPerSecond: 15,
      seconds: 1,
    });
    expect(
      buildPlan(users, { ...options, callsPerSecond: null, rule: { kind: 'oldest' } }).estimate.seconds,
    ).toBeNull();
    // With undo records, the link core's reads for them: six calls per link.
    expect(buildPlan(users, { ...options, undoRecords: true, rule: { kind: 'oldest' } }).estimate).toEqual({
      auth0Calls: 30,
      callsPerSecond: 15,
      seconds: 2,
    });
  });

  it('round-trips through its file and refuses a plan whose secondary is its primary', () => {
    const plan = buildPlan([user('auth0|1'), user('auth0|2')], { ...options, rule: { kind: 'oldest' } });
    expect(parsePlan(serializePlan(plan))).toEqual(plan);
    const bad = { ...plan, groups: [{ ...plan.groups[0], secondaries: ['auth0|1'] }] };
    expect(() => parsePlan(JSON.stringify(bad))).toThrow('groups[0]');
    expect(() => parsePlan('{')).toThrow('not JSON');
  });
});

describe('parsePrimaryRule', () => {
  it.each([
    ['oldest', { kind: 'oldest' }],
    ['most-logins', { kind: 'most-logins' }],
    ['last-login', { kind: 'last-login' }],
    ['connection:github', { kind: 'connection', connection: 'github' }],
    ['connection:', null],
    ['newest', null],
  ])('reads %s', (text, rule) => {
    expect(parsePrimaryRule(text)).toEqual(rule);
  });
});

describe('createProgressReporter', () => {
  it('writes one line per 5 % when the stream is not a terminal', () => {
    const lines: string[] = [];
    const stream = {
      isTTY: false,
      write: (text: string) => lines.push(text),
    } as unknown as NodeJS.WriteStream;
    const reporter = createProgressReporter(stream, () => 0);
    for (let done = 0; done <= 100; done += 1)
      reporter.update({ done, total: 100, linked: done, skipped: 0, failed: 0 });
    reporter.end();
    expect(lines).toHaveLength(21);
    expect(lines[20]).toContain('100/100 (100%) linked 100, skipped 0, failed 0');
  });

  it('on a terminal redraws one bar line in place and ends it with a newline', () => {
    let out = '';
    const stream = {
      isTTY: true,
      columns: 200,
      write: (text: string) => {
        out += text;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const reporter = createProgressReporter(stream);
    for (let done = 0; done <= 100; done += 1)
      reporter.update({ done, total: 100, linked: done, skipped: 0, failed: 0 });
    const beforeEnd = out;
    reporter.end();
    expect(beforeEnd).not.toContain('\n');
    expect(out.endsWith('\n')).toBe(true);
    expect(out).toContain('[========================] 100/100 (100%) linked 100, skipped 0, failed 0');
  });
});
