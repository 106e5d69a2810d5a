// Loaded before every test file. reflect-metadata must come first for type-graphql, and
// @apollo/gateway must never export telemetry or probe cloud metadata addresses.
import 'reflect-metadata';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
// A level both pino and Hive Gateway's logger accept: Hive's refuses to start on pino's 'silent'.
// The gateways under test get their level explicitly (test/support/harness.ts).
process.env.LOG_LEVEL ??= 'error';
