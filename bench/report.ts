// Fixed-width tables and the machine line for the benchmark's output.
import { cpus, availableParallelism, loadavg, release, type as osType, totalmem } from 'node:os';

export type Align = 'l' | 'r';

/** Columns padded to their widest cell; `align` per column, default right except the first. */
export function formatTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const cell = (text: string, c: number) =>
    (align[c] ?? (c === 0 ? 'l' : 'r')) === 'l' ? text.padEnd(widths[c]) : text.padStart(widths[c]);
  const line = (cells: string[]) =>
    cells
      .map((t, c) => cell(t, c))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown cpu';
  const memGiB = (totalmem() / 2 ** 30).toFixed(1);
  return `${osType()} ${release()}, ${cpu}, ${availableParallelism()} cores, ${memGiB} GiB, node ${process.version}`;
}

/** 1-minute load average: above the core count, something else competed for the CPUs. */
export const loadLine = () =>
  `load average (1 min) ${loadavg()[0].toFixed(2)} on ${availableParallelism()} cores`;

export const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
export const int = (n: number) => (Number.isFinite(n) ? String(Math.round(n)) : '-');
export const mib = (bytes: number | null) => (bytes === null ? 'n/a' : (bytes / 2 ** 20).toFixed(1));

/** `{ "CONFLICT": 2 }` → "CONFLICT×2"; "-" when empty. */
export function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([k, v]) => `${k}×${v}`);
  return parts.length === 0 ? '-' : parts.join(' ');
}

export const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
