// Seed files: JSON `{ "users", "clients", "client_grants", "roles", "organizations" }` in Auth0's shapes, validated before use.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
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

const urlList = z.array(z.string());

// Loose objects: what Auth0's Management API returns or its export tools write (jwt_configuration,
// signing_keys, is_first_party, ...) is accepted and ignored; the fields the emulator uses are typed.
const clientSchema = z.looseObject({
  client_id: z.string().min(1),
  client_secret: z.string().min(1).optional(),
  name: z.string().optional(),
  app_type: z.enum(['spa', 'non_interactive', 'regular_web', 'native']).optional(),
  grant_types: z.array(z.string()).optional(),
  scopes: z.array(z.string()).optional(),
  callbacks: urlList.optional(),
  web_origins: urlList.optional(),
  allowed_origins: urlList.optional(),
  allowed_logout_urls: urlList.optional(),
  token_endpoint_auth_method: z.enum(['none', 'client_secret_post', 'client_secret_basic']).optional(),
  refresh_token: z.looseObject({ rotation_type: z.enum(['rotating', 'non-rotating']).optional() }).optional(),
});

const clientGrantSchema = z.looseObject({
  client_id: z.string().min(1),
  audience: z.string().min(1),
  scope: z.array(z.string()),
});

// Auth0's `Role`, plus `users`: the ids the role is assigned to directly.
const roleSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  description: z.string().optional(),
  users: z.array(z.string().min(1)).optional(),
});

// Auth0's `OrganizationMember`: the membership's roles by id (their names are the roles' own).
const memberSchema = z.looseObject({
  user_id: z.string().min(1),
  roles: z.array(z.looseObject({ id: z.string().min(1) })).optional(),
});

// Auth0's `Organization` (name: lowercase, digits, `-` and `_`, at most 50), plus its `members`.
const organizationSchema = z.looseObject({
  id: z.string().min(1).max(50),
  name: z
    .string()
    .min(1)
    .max(50)
    .regex(/^[a-z0-9_-]+$/, 'must be lowercase letters, digits, "-" or "_"'),
  display_name: z.string().min(1).max(255).optional(),
  branding: z.looseObject({}).optional(),
  metadata: z.record(z.string(), z.string().max(255).nullable()).optional(),
  members: z.array(memberSchema).optional(),
});

// The Deploy CLI's `actions` and `triggers` (runtime, dependencies, deployed, … ignored).
const actionSchema = z.looseObject({
  name: z.string().min(1),
  code: z.string(),
  secrets: z.array(z.looseObject({ name: z.string().min(1), value: z.string() })).optional(),
  supported_triggers: z.array(z.looseObject({ id: z.string().min(1) })).optional(),
});

const triggersSchema = z.record(
  z.string(),
  z.array(z.looseObject({ action_name: z.string().min(1), display_name: z.string().optional() })),
);

const seedSchema = z.looseObject({
  users: z.array(userSchema),
  clients: z.array(clientSchema),
  client_grants: z.array(clientGrantSchema).optional(),
  roles: z.array(roleSchema).optional(),
  organizations: z.array(organizationSchema).optional(),
  actions: z.array(actionSchema).optional(),
  triggers: triggersSchema.optional(),
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
  const fail = (path: string, message: string): never => {
    throw new Error(`invalid ${source}: ${path}: ${message}`);
  };
  const { users, clients, client_grants: grants = [], roles = [], organizations = [] } = result.data;
  const userIds = new Set<string>();
  users.forEach((user, i) => {
    if (userIds.has(user.user_id)) fail(`users[${i}].user_id`, `duplicate ${user.user_id}`);
    userIds.add(user.user_id);
  });
  const clientIds = new Set<string>();
  clients.forEach((client, i) => {
    if (clientIds.has(client.client_id)) fail(`clients[${i}].client_id`, `duplicate ${client.client_id}`);
    clientIds.add(client.client_id);
  });
  const grantKeys = new Set<string>();
  grants.forEach((grant, i) => {
    if (!clientIds.has(grant.client_id))
      fail(`client_grants[${i}].client_id`, `no client ${grant.client_id} in clients`);
    // Auth0 allows one grant per client and audience (409 on a second one).
    const key = `${grant.client_id} ${grant.audience}`;
    if (grantKeys.has(key))
      fail(`client_grants[${i}]`, `duplicate grant for ${grant.client_id} on ${grant.audience}`);
    grantKeys.add(key);
  });
  const roleIds = new Set<string>();
  roles.forEach((role, i) => {
    if (roleIds.has(role.id)) fail(`roles[${i}].id`, `duplicate ${role.id}`);
    roleIds.add(role.id);
    role.users?.forEach((userId, j) => {
      if (!userIds.has(userId)) fail(`roles[${i}].users[${j}]`, `no user ${userId} in users`);
    });
  });
  const organizationIds = new Set<string>();
  const organizationNames = new Set<string>();
  organizations.forEach((organization, i) => {
    if (organizationIds.has(organization.id)) fail(`organizations[${i}].id`, `duplicate ${organization.id}`);
    organizationIds.add(organization.id);
    // Auth0 refuses a second organization of the same name (409).
    if (organizationNames.has(organization.name))
      fail(`organizations[${i}].name`, `duplicate ${organization.name}`);
    organizationNames.add(organization.name);
    const memberIds = new Set<string>();
    organization.members?.forEach((member, j) => {
      const at = `organizations[${i}].members[${j}]`;
      if (!userIds.has(member.user_id)) fail(`${at}.user_id`, `no user ${member.user_id} in users`);
      if (memberIds.has(member.user_id)) fail(`${at}.user_id`, `duplicate ${member.user_id}`);
      memberIds.add(member.user_id);
      member.roles?.forEach((role, k) => {
        if (!roleIds.has(role.id)) fail(`${at}.roles[${k}].id`, `no role ${role.id} in roles`);
      });
    });
  });
  const actionNames = new Set<string>();
  (result.data.actions ?? []).forEach((action, i) => {
    if (actionNames.has(action.name)) fail(`actions[${i}].name`, `duplicate ${action.name}`);
    actionNames.add(action.name);
  });
  for (const [trigger, bindings] of Object.entries(result.data.triggers ?? {})) {
    bindings.forEach((binding, i) => {
      if (!actionNames.has(binding.action_name))
        fail(`triggers.${trigger}[${i}].action_name`, `no action ${binding.action_name} in actions`);
    });
  }
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
  const seed = parseSeed(json, `seed file ${file}`);
  // As in the Deploy CLI's tenant.yaml, an Action's `code` may name a .js file (relative to the seed).
  for (const action of seed.actions ?? []) {
    if (/^[^\n]+\.c?js$/.test(action.code.trim())) {
      action.code = await readFile(resolve(dirname(file), action.code.trim()), 'utf8');
    }
  }
  return seed;
}
