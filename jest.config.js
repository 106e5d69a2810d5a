// ts-jest in ESM mode; type-checking runs separately (`npm run typecheck`), which keeps jest fast.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/support/network-guard.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, isolatedModules: true, tsconfig: 'tsconfig.test.json' }],
  },
  testTimeout: 20000,
  // Two workers on the 2-core machines CI runs on: most suites wait on real processes (gateways,
  // Redis, Chromium, Auth0's rate limits), so two at once take about half the time of one (jest's
  // default here is cores − 1 = 1).
  maxWorkers: 2,
};
