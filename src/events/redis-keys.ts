import type { Config } from '../config.js';
import { createKeySpace } from '../shared-state/key-space.js';
import { tenantDiscriminator } from '../shared-state/tenant-key.js';

/**
 * The Redis keys of one tenant's events. Every key carries a tenant discriminator (a hash of the
 * Auth0 origin and client id), so two tenants' gateways can share one Redis and one prefix, as a
 * hash tag (key-space.ts): a cluster keeps them on one slot, where one transaction settles an entry.
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
  const keys = createKeySpace(config.shared.keyPrefix, tenantDiscriminator(config.auth0));
  return {
    outbox: keys.tenant('webhooks', 'outbox'),
    dead: keys.tenant('webhooks', 'dead'),
    attempts: keys.tenant('webhooks', 'attempts'),
    lease: keys.tenant('webhooks', 'lease'),
  };
}

/** Stream entry fields as `[name, value, name, value, …]` → an object. */
export function fieldsOf(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return fields;
}
