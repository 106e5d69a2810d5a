// `npm run bench [-- <scenario> …]`: the emulator, the gateway and a hand-written Apollo + fetch
// server on 127.0.0.1, measured side by side in one run (issues 6 and 12). Prints each scenario's
// table, then every target met or missed; never fails because of them.
process.env.APOLLO_TELEMETRY_DISABLED = 'true';

import { EmulatorProcess, type ServerProcess } from './processes.js';
import { fixed, formatTable, loadLine, machineLine, verdict } from './report.js';
import { bursts } from './scenarios/bursts.js';
import { dedupe } from './scenarios/dedupe.js';
import { floor } from './scenarios/floor.js';
import { jwtVerification } from './scenarios/jwt-verify.js';
import { linkModes } from './scenarios/link-modes.js';
import { pacing } from './scenarios/pacing.js';
import { replicas } from './scenarios/replicas.js';
import { rss } from './scenarios/rss.js';
import { supergraph } from './scenarios/supergraph.js';
import type { BenchContext, Scenario, Target } from './scenarios/scenario.js';
import { mintTokens, TENANT, type Tokens } from './tenant.js';

/** In report order. A new scenario is a file in scenarios/ and one line here. */
const SCENARIOS: Scenario[] = [
  jwtVerification,
  linkModes,
  floor,
  bursts,
  pacing,
  rss,
  replicas,
  supergraph,
  dedupe,
];

const log = (text: string) => process.stderr.write(`bench: ${text}\n`);

function selectScenarios(names: string[]): Scenario[] {
  if (names.length === 0) return SCENARIOS.filter((s) => !s.onlyWhenNamed);
  const unknown = names.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  }
  return SCENARIOS.filter((s) => names.includes(s.name));
}

async function main() {
  const scenarios = selectScenarios(process.argv.slice(2));
  const startedAt = Date.now();
  const loadBefore = loadLine();
  log('starting the emulator host');
  const emulator = await EmulatorProcess.start(TENANT);
  /** Things that went wrong with a server under test; printed with the report. */
  const incidents: string[] = [];
  let tokens: Promise<Tokens> | undefined;
  const ctx: BenchContext = {
    emulator,
    tokens: () => (tokens ??= (log('minting tokens'), mintTokens(emulator))),
    log,
    async withServer<T>(start: Promise<ServerProcess>, use: (server: ServerProcess) => Promise<T>) {
      const server = await start;
      try {
        return await use(server);
      } finally {
        const exit = server.unexpectedExit();
        if (exit) {
          const text = `server ${server.url} (pid ${server.pid}) ${exit}; its last output:\n${server.outputTail()}`;
          incidents.push(text);
          log(text);
        }
        await server.close();
      }
    },
  };
  try {
    const sections: string[] = [];
    const targets: Target[] = [];
    for (const scenario of scenarios) {
      const report = await scenario.run(ctx);
      sections.push(`${report.lines.join('\n')}\n(${scenario.name} — after it: ${loadLine()})`);
      targets.push(...report.targets);
    }
    const out = [
      `auth0-link-gateway benchmark — ${new Date().toISOString()}`,
      `machine: ${machineLine()}`,
      `before the run: ${loadBefore}; after: ${loadLine()}`,
      'everything on 127.0.0.1: load generator (this process), emulator and servers under test in child processes',
      '',
      sections.join('\n\n'),
      '',
      'Targets:',
      formatTable(
        ['target', 'figure', ''],
        targets.map((t) => [t.text, t.figure, verdict(t.met)]),
        ['l', 'l', 'l'],
      ),
      ...(incidents.length > 0 ? ['', 'Incidents:', ...incidents] : []),
      '',
      `bench took ${fixed((Date.now() - startedAt) / 1000, 0)} s`,
    ];
    console.log(out.join('\n'));
  } finally {
    await emulator.close();
  }
}

main().catch((error: unknown) => {
  console.error('bench failed:', error);
  process.exitCode = 1;
});
