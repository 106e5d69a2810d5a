// The job's terminal output: summary tables on stdout (cli-table3), progress on stderr (a
// cli-progress bar redrawn in place on a terminal; one plain line per 5 % otherwise, so CI logs
// stay short).
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import type { ApplyProgress } from './apply.js';

/** Plain ASCII borders, no line between rows: the tables read the same in any terminal or log. */
const ASCII = {
  top: '-',
  'top-mid': '+',
  'top-left': '+',
  'top-right': '+',
  bottom: '-',
  'bottom-mid': '+',
  'bottom-left': '+',
  'bottom-right': '+',
  left: '|',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '|',
  'right-mid': '',
  middle: '|',
};

/** A titled two-column table; numbers right-aligned. No colour codes. */
export function renderTable(title: string, rows: [string, string | number][]): string {
  const table = new Table({
    chars: ASCII,
    style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1 },
  });
  for (const [label, value] of rows) {
    table.push([label, { content: String(value), hAlign: typeof value === 'number' ? 'right' : 'left' }]);
  }
  return `${title}\n${table.toString()}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface ProgressReporter {
  update(progress: ApplyProgress): void;
  end(): void;
}

/**
 * Reports apply progress to `stream`: done, failed, skipped, rate and ETA. The rate and ETA count
 * this run's pairs only (pairs done by an earlier run are not this run's speed).
 */
export function createProgressReporter(
  stream: NodeJS.WriteStream,
  now: () => number = Date.now,
): ProgressReporter {
  const started = now();
  let startDone: number | null = null;
  const figures = (p: ApplyProgress) => {
    const percent = p.total === 0 ? 100 : Math.floor((p.done / p.total) * 100);
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? (p.done - (startDone ?? p.done)) / elapsed : 0;
    const eta = rate > 0 ? formatDuration((p.total - p.done) / rate) : '?';
    return {
      percent,
      rate: rate.toFixed(1),
      remaining: eta,
      linked: p.linked,
      skipped: p.skipped,
      failed: p.failed,
    };
  };
  return stream.isTTY
    ? barReporter(stream, figures, (p) => (startDone ??= p.done))
    : lineReporter(stream, figures, (p) => (startDone ??= p.done));
}

/** The payload of a line; `eta` and `percentage` are cli-progress's own names, hence `remaining`. */
type Figures = (p: ApplyProgress) => Record<string, string | number>;

function barReporter(
  stream: NodeJS.WriteStream,
  figures: Figures,
  first: (p: ApplyProgress) => void,
): ProgressReporter {
  const bar = new SingleBar({
    stream,
    format:
      'dedupe: [{bar}] {value}/{total} ({percent}%) linked {linked}, skipped {skipped}, failed {failed} · {rate} pairs/s · ETA {remaining}',
    barsize: 24,
    // A second Ctrl-C exits at once, before stop() could show a hidden cursor again.
    hideCursor: false,
    // Ctrl-C is the job's own (links in flight finish first): the bar must not exit the process.
    gracefulExit: false,
    fps: 10,
  });
  let started = false;
  return {
    update(p) {
      first(p);
      if (!started) {
        started = true;
        bar.start(p.total, p.done, figures(p));
      } else bar.update(p.done, figures(p));
    },
    end() {
      if (started) bar.stop();
    },
  };
}

function lineReporter(
  stream: NodeJS.WriteStream,
  figures: Figures,
  first: (p: ApplyProgress) => void,
): ProgressReporter {
  let lastStep = -1;
  return {
    update(p) {
      first(p);
      const step = p.total === 0 ? 20 : Math.floor((p.done / p.total) * 20);
      if (step === lastStep) return;
      lastStep = step;
      const f = figures(p);
      stream.write(
        `dedupe: ${p.done}/${p.total} (${f.percent}%) linked ${f.linked}, skipped ${f.skipped}, ` +
          `failed ${f.failed} · ${f.rate} pairs/s · ETA ${f.remaining}\n`,
      );
    },
    end() {},
  };
}
