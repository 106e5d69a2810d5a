import type { Config } from '../config.js';
import { tenantKeyPrefix } from '../shared-state/tenant-key.js';

/**
 * The Redis keys of one tenant's events. Every key carries a tenant discriminator (a hash of the
 * Auth0 origin and client id), so two tenants' gateways can share one Redis and one prefix.
 */
export interface WebhookKeys {
  /** The outbox stream: one entry per event not yet delivered or dead-lettered. */
  outbox: string;
  /** Dead-lettered events, kept until replayed. */
  dead: string;
  /** Failed attempts and the next attempt's time of each outbox entry (a takeover resumes there). */
  attempts: string;
  /** Which replica delivers now. */
  lease: string;
}

/** The one consumer group every replica reads the outbox with. */
export const WEBHOOK_GROUP = 'webhook-delivery';

export function webhookKeys(config: Pick<Config, 'auth0' | 'shared'>): WebhookKeys {
  const base = `${tenantKeyPrefix(config.shared.keyPrefix, config.auth0)}webhooks`;
  return {
    outbox: `${base}:outbox`,
    dead: `${base}:dead`,
    attempts: `${base}:attempts`,
    lease: `${base}:lease`,
  };
}

/** Stream entry fields as `[name, value, name, value, …]` → an object. */
export function fieldsOf(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return fields;
}
