// The job's terminal output: summary tables on stdout, progress on stderr (one line rewritten in
// place on a terminal, one line per 5 % otherwise, so CI logs stay short).
import type { ApplyProgress } from './apply.js';

/** A two-column table with aligned columns; numbers right-aligned. */
export function renderTable(title: string, rows: [string, string | number][]): string {
  const left = Math.max(...rows.map(([label]) => label.length));
  const right = Math.max(...rows.map(([, value]) => String(value).length));
  const rule = `+${'-'.repeat(left + 2)}+${'-'.repeat(right + 2)}+`;
  const lines = rows.map(([label, value]) => {
    const text = String(value);
    const cell = typeof value === 'number' ? text.padStart(right) : text.padEnd(right);
    return `| ${label.padEnd(left)} | ${cell} |`;
  });
  return [title, rule, ...lines, rule].join('\n');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Reports apply progress to `stream`: done, failed, skipped, rate and ETA. */
export function createProgressReporter(
  stream: NodeJS.WriteStream,
  now: () => number = Date.now,
): { update(progress: ApplyProgress): void; end(): void } {
  const started = now();
  let startDone: number | null = null;
  let lastStep = -1;
  let lastDraw = 0;
  let drawn = false;
  const line = (p: ApplyProgress) => {
    const percent = p.total === 0 ? 100 : Math.floor((p.done / p.total) * 100);
    const doneHere = p.done - (startDone ?? p.done);
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? doneHere / elapsed : 0;
    const eta = rate > 0 ? formatDuration((p.total - p.done) / rate) : '?';
    return (
      `dedupe: ${p.done}/${p.total} (${percent}%) linked ${p.linked}, skipped ${p.skipped}, ` +
      `failed ${p.failed} · ${rate.toFixed(1)} pairs/s · ETA ${eta}`
    );
  };
  return {
    update(p) {
      startDone ??= p.done;
      if (stream.isTTY) {
        const t = now();
        if (t - lastDraw < 100 && p.done !== p.total) return;
        lastDraw = t;
        stream.write(`\r${line(p)}\x1b[K`);
        drawn = true;
        return;
      }
      const step = p.total === 0 ? 20 : Math.floor((p.done / p.total) * 20);
      if (step === lastStep) return;
      lastStep = step;
      stream.write(`${line(p)}\n`);
    },
    end() {
      if (drawn) stream.write('\n');
    },
  };
}
