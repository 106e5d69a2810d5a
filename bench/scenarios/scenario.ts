// What every scenario of `npm run bench` gets and gives back: run.ts calls each in turn and
// prints their sections, then one table of all their targets.
import type { EmulatorProcess, ServerProcess } from '../processes.js';
import type { Tokens } from '../tenant.js';

/** A figure the issue asks for, and whether this run met it. */
export interface Target {
  text: string;
  figure: string;
  met: boolean;
}

export interface ScenarioReport {
  /** The scenario's section of the report (its table and any notes), printed as is. */
  lines: string[];
  targets: Target[];
}

export interface BenchContext {
  /** The emulator host, shared by every scenario; reset it before relying on its state. */
  readonly emulator: EmulatorProcess;
  /** The bench tenant's tokens, minted on first use (a few seconds). */
  tokens(): Promise<Tokens>;
  /** Progress on stderr. */
  log(text: string): void;
  /** Runs `use` with a started server, then stops it; an unexpected exit is reported as an incident. */
  withServer<T>(start: Promise<ServerProcess>, use: (server: ServerProcess) => Promise<T>): Promise<T>;
}

/**
 * One table of the report. To add one: a file in bench/scenarios/ exporting a Scenario, and one
 * line in run.ts's SCENARIOS. `npm run bench -- <name> …` runs only the named ones.
 */
export interface Scenario {
  /** Short name for the command line, e.g. `floor`. */
  readonly name: string;
  /** Runs only when named on the command line (a long scenario): `npm run bench -- <name>`. */
  readonly onlyWhenNamed?: boolean;
  run(ctx: BenchContext): Promise<ScenarioReport>;
}
