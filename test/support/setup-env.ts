// Loaded before every test file. reflect-metadata must come first for type-graphql, and
// @apollo/gateway must never export telemetry or probe cloud metadata addresses.
import 'reflect-metadata';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
process.env.LOG_LEVEL ??= 'silent';
