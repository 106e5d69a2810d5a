import { readFileSync } from 'node:fs';
import { REQUEST_ERROR_CODES } from '../../src/apollo-server.js';
import { CONFIG_VARIABLES } from '../../src/config.js';
import { ERROR_CODES, ERROR_REASONS } from '../../src/errors.js';
import { createMetrics } from '../../src/observability/metrics.js';

// The README is what operators and client developers read: its configuration, codes and reasons
// tables, and the metrics table of docs/operating.md, must name exactly what the code reads, can
// send or registers, in both directions.
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const OPERATING = readFileSync(new URL('../../docs/operating.md', import.meta.url), 'utf8');

/** The text under `## <title>` up to the next `## ` heading. */
function section(title: string, text = README, file = 'README.md'): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${title}`);
  if (start === -1) throw new Error(`${file} has no "## ${title}" section`);
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/**
 * The backticked names in the first column of the `nth` Markdown table (0: the first) whose
 * header's first cell is `header` (a row may name several, as in `HOST`, `PORT`).
 */
function firstColumnNames(text: string, header: string, nth = 0, name = /`([A-Z][A-Z0-9_]*)`/g): string[] {
  const lines = text.split('\n');
  const cells = (line: string) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
  const tops = lines.flatMap((line, i) =>
    line.trim().startsWith('|') && cells(line)[0] === header ? [i] : [],
  );
  const top = tops[nth];
  if (top === undefined) throw new Error(`no table number ${nth + 1} with a "${header}" column`);
  const names: string[] = [];
  for (const line of lines.slice(top + 2)) {
    if (!line.trim().startsWith('|')) break;
    for (const match of cells(line)[0].matchAll(name)) names.push(match[1]);
  }
  return names;
}

/** What one side names that the other does not, worded so a failure says what to fix. */
function disagreements(
  documented: readonly string[],
  actual: readonly string[],
  words: { missing: string; extra: string },
): string[] {
  const missing = actual.filter((name) => !documented.includes(name));
  const extra = documented.filter((name) => !actual.includes(name));
  const duplicated = documented.filter((name, i) => documented.indexOf(name) !== i);
  return [
    ...missing.map((name) => `${words.missing}: ${name}`),
    ...extra.map((name) => `${words.extra}: ${name}`),
    ...duplicated.map((name) => `listed twice in README.md: ${name}`),
  ];
}

describe('README.md and docs/operating.md agree with the code', () => {
  it('the configuration table lists every variable src/config.ts reads, and no other', () => {
    const documented = firstColumnNames(section('Configuration'), 'variable');
    expect(
      disagreements(documented, CONFIG_VARIABLES, {
        missing: 'read by src/config.ts but not in the README configuration table',
        extra: 'in the README configuration table but not read by src/config.ts',
      }),
    ).toEqual([]);
  });

  it('the first codes table lists every ERROR_CODES value, and no other', () => {
    // The first table headed "code" is the service's own; the request-level one follows it.
    const documented = firstColumnNames(section('Errors'), 'code');
    expect(
      disagreements(documented, ERROR_CODES, {
        missing: 'in ERROR_CODES (src/errors.ts) but not in the README codes table',
        extra: 'in the README codes table but not in ERROR_CODES (src/errors.ts)',
      }),
    ).toEqual([]);
  });

  it('the reasons table lists every ERROR_REASONS value, and no other', () => {
    const documented = firstColumnNames(section('Errors'), 'reason');
    expect(
      disagreements(documented, ERROR_REASONS, {
        missing: 'in ERROR_REASONS (src/errors.ts) but not in the README reasons table',
        extra: 'in the README reasons table but not in ERROR_REASONS (src/errors.ts)',
      }),
    ).toEqual([]);
  });

  it('the request-level codes table lists every code formatError passes through, and no other', () => {
    // The second table headed "code": Apollo Server's and graphql-js's codes, with BAD_USER_INPUT in
    // the first table (it is also a DESIGN §4 code), and INTERNAL_SERVER_ERROR for anything else.
    const documented = firstColumnNames(section('Errors'), 'code', 1);
    const passedThrough = [...REQUEST_ERROR_CODES].filter(
      (code) => !(ERROR_CODES as readonly string[]).includes(code),
    );
    expect(
      disagreements(documented, [...passedThrough, 'INTERNAL_SERVER_ERROR'], {
        missing: 'sent by src/apollo-server.ts but not in the README request-level codes table',
        extra: 'in the README request-level codes table but never sent',
      }),
    ).toEqual([]);
  });

  it('the metrics table of docs/operating.md lists every metric src/observability/metrics.ts registers, and no other', async () => {
    const documented = firstColumnNames(
      section('Metrics', OPERATING, 'docs/operating.md'),
      'metric',
      0,
      /`([a-z][a-z0-9_]*)`/g,
    );
    const registered = (
      await createMetrics({ defaultMetrics: false, redis: true }).registry.getMetricsAsJSON()
    ).map((metric) => metric.name);
    expect(registered.length).toBeGreaterThan(0);
    expect(
      disagreements(documented, registered, {
        missing:
          'registered by src/observability/metrics.ts but not in the metrics table of docs/operating.md',
        extra: 'in the metrics table of docs/operating.md but not registered by src/observability/metrics.ts',
      }),
    ).toEqual([]);
  });
});
