import type { RedisClient } from '../shared-state/redis-connection.js';
import { RedisScript } from '../shared-state/redis-scripts.js';

/**
 * How long a consumer of the outbox group must have done nothing (no read, no claim, not even a
 * blocked read) before it is forgotten. A replica that delivers reads every half second, and a
 * lease holder that lost its lease stopped reading seconds ago, so neither comes near this.
 */
export const FORGET_CONSUMERS_IDLE_MS = 10 * 60_000;

// Checks and deletes in one step: a consumer that reads between the check and the delete (an
// XREADGROUP of a replica that has not noticed it lost the lease) would take its entries into a
// PEL that DELCONSUMER then drops, and `>` never hands them out again. `idle` counts from the
// consumer's last attempted read or claim, blocked reads included (Redis 7.2's `inactive` counts
// from the last successful one, which a replica reading an empty stream never has).
//
// KEYS[1] outbox stream. ARGV[1] group, ARGV[2] the consumer that runs this, ARGV[3] idle ms.
// Returns { name, entries DELCONSUMER dropped, ... } for every consumer deleted.
const FORGET_IDLE_CONSUMERS_SCRIPT = new RedisScript(`
local forgotten = {}
for _, flat in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #flat, 2 do info[flat[i]] = flat[i + 1] end
  if info['name'] ~= ARGV[2] and tonumber(info['pending']) == 0 and tonumber(info['idle']) >= tonumber(ARGV[3]) then
    local dropped = redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    table.insert(forgotten, info['name'])
    table.insert(forgotten, dropped)
  end
end
return forgotten
`);

export interface ForgottenConsumer {
  name: string;
  /** Entries in its PEL when it was deleted: 0, since only consumers with none are deleted. */
  droppedEntries: number;
}

/**
 * Deletes the group's consumers other than `self` that hold no entry and have been idle for
 * `idleMs` at least (default FORGET_CONSUMERS_IDLE_MS): every replica that once delivered is a
 * consumer, and the group would otherwise grow with every restart.
 */
export async function forgetIdleConsumers(
  client: RedisClient,
  stream: string,
  group: string,
  options: { self: string; idleMs?: number },
): Promise<ForgottenConsumer[]> {
  const reply = (await FORGET_IDLE_CONSUMERS_SCRIPT.run(
    client,
    [stream],
    [group, options.self, options.idleMs ?? FORGET_CONSUMERS_IDLE_MS],
  )) as (string | number)[];
  const forgotten: ForgottenConsumer[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    forgotten.push({ name: String(reply[i]), droppedEntries: Number(reply[i + 1]) });
  }
  return forgotten;
}
