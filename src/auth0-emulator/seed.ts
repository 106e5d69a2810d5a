// Seed files: JSON `{ "users": [...], "clients": [...] }` in Auth0's shapes, validated before use.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { EmulatorSeed } from './types.js';

const identitySchema = z.looseObject({
  provider: z.string().min(1),
  user_id: z.union([z.string().min(1), z.number().int()]),
  connection: z.string().min(1).optional(),
  isSocial: z.boolean().optional(),
});

const userSchema = z.looseObject({
  user_id: z.string().regex(/^[^|]+\|.+$/, 'must look like "<provider>|<id>"'),
  email: z.string().optional(),
  email_verified: z.boolean().optional(),
  name: z.string().optional(),
  nickname: z.string().optional(),
  picture: z.string().optional(),
  given_name: z.string().optional(),
  family_name: z.string().optional(),
  username: z.string().optional(),
  phone_number: z.string().optional(),
  phone_verified: z.boolean().optional(),
  identities: z.array(identitySchema).optional(),
  user_metadata: z.record(z.string(), z.unknown()).optional(),
  app_metadata: z.record(z.string(), z.unknown()).optional(),
  password: z.string().min(1).optional(),
});

const clientSchema = z.strictObject({
  client_id: z.string().min(1),
  client_secret: z.string().min(1).optional(),
  name: z.string().optional(),
  app_type: z.enum(['spa', 'non_interactive', 'regular_web', 'native']),
  grant_types: z.array(z.string()).optional(),
  scopes: z.array(z.string()).optional(),
});

const seedSchema = z.strictObject({
  users: z.array(userSchema),
  clients: z.array(clientSchema),
});

function pathOf(path: PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

/** Validates parsed JSON as a seed; the error names the first bad field (e.g. `users[2].user_id`). */
export function parseSeed(json: unknown, source = 'seed'): EmulatorSeed {
  const result = seedSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`invalid ${source}: ${pathOf(issue.path) || '(root)'}: ${issue.message}`);
  }
  const ids = new Set<string>();
  result.data.users.forEach((user, i) => {
    if (ids.has(user.user_id))
      throw new Error(`invalid ${source}: users[${i}].user_id: duplicate ${user.user_id}`);
    ids.add(user.user_id);
  });
  return result.data as EmulatorSeed;
}

export async function loadSeedFile(file: string): Promise<EmulatorSeed> {
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`invalid seed file ${file}: not JSON (${(error as Error).message})`);
  }
  return parseSeed(json, `seed file ${file}`);
}
