// The apply's state file (DESIGN §16): each pair's outcome, written after every pair so that a
// second apply resumes. Written to a temporary file and renamed over the old one: a kill at any
// moment leaves either the previous state or the new one, never half of one.
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';

export type PairOutcome =
  | { outcome: 'linked'; linkId: string }
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'failed'; code: string; reason: string | null };

export interface PairRecord {
  primary: string;
  secondary: string;
}

export type StateEntry = PairRecord & PairOutcome;

export interface ApplyState {
  version: 1;
  /** sha256 of the plan file's bytes: a state file belongs to one plan. */
  plan: string;
  pairs: StateEntry[];
}

export function planDigest(planText: string): string {
  return createHash('sha256').update(planText).digest('hex');
}

/** The state at `path`, or null when there is none yet. */
export async function readState(path: string): Promise<ApplyState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const state = JSON.parse(text) as Partial<ApplyState> | null;
  if (!state || state.version !== 1 || typeof state.plan !== 'string' || !Array.isArray(state.pairs)) {
    throw new Error(`${path} is not a dedupe state file`);
  }
  return state as ApplyState;
}

/** Writes the whole state atomically: a temporary file beside it, then a rename. */
export async function writeStateAtomically(path: string, state: ApplyState): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, path);
}

export const pairKey = (pair: PairRecord): string => JSON.stringify([pair.primary, pair.secondary]);
