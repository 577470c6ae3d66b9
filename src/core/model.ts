/**
 * The secret model of the design card, as zod schemas. The same schemas parse HTTP bodies on the
 * server and in the sync client, SecretStorage JSON in the extension, and broker requests.
 */
import * as z from './zod';
import { lazySchema } from './lazySchema';
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from './limits';

export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The naming rule as users read it in messages. */
export const NAME_RULE =
  'Use 1–128 letters, digits or underscores, starting with a letter or underscore (like an environment variable).';

export const SECRET_TYPES = ['generic', 'password', 'key', 'token', 'file'] as const;
export const SecretType = lazySchema(() => z.enum(SECRET_TYPES));
export type SecretType = z.infer<typeof SecretType>;

export const Encoding = lazySchema(() => z.enum(['text', 'base64']));
export type Encoding = z.infer<typeof Encoding>;

export const SecretName = lazySchema(() =>
  z
    .string()
    .check(
      z.minLength(1, 'A name is required.'),
      z.maxLength(MAX_NAME_LENGTH, `A name is at most ${MAX_NAME_LENGTH} characters.`),
      z.regex(NAME_PATTERN, NAME_RULE),
    ),
);

export const Description = lazySchema(() =>
  z
    .string()
    .check(
      z.maxLength(
        MAX_DESCRIPTION_LENGTH,
        `A description is at most ${MAX_DESCRIPTION_LENGTH} characters.`,
      ),
    ),
);

export const Scope = lazySchema(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('personal') }),
    z.object({ kind: z.literal('project'), id: z.string().check(z.minLength(1)) }),
    z.object({ kind: z.literal('team'), id: z.string().check(z.minLength(1)) }),
  ]),
);
export type Scope = z.infer<typeof Scope>;
export type ScopeKind = Scope['kind'];
export const PERSONAL: Scope = { kind: 'personal' };

export const Role = lazySchema(() => z.enum(['owner', 'reader']));
export type Role = z.infer<typeof Role>;

export const Principal = lazySchema(() =>
  z.object({ kind: z.enum(['user', 'team']), id: z.string().check(z.minLength(1)) }),
);
export type Principal = z.infer<typeof Principal>;

export const Grant = lazySchema(() => z.object({ principal: Principal, role: Role }));
export type Grant = z.infer<typeof Grant>;

/** Everything about a secret except its value. Safe to store in indexes and to log by name. */
export const SecretMetadata = lazySchema(() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    name: SecretName,
    encoding: Encoding,
    type: SecretType,
    description: Description,
    scope: Scope,
    version: z.number().check(z.int(), z.minimum(1)),
    created_at: z.string(),
    updated_at: z.string(),
    created_by: z.string(),
    access: z._default(z.array(Grant), []),
    /** The caller's own role, when a server tells it; local secrets are always the user's own. */
    role: z.optional(Role),
  }),
);
export type SecretMetadata = z.infer<typeof SecretMetadata>;

export const CreateSecret = lazySchema(() =>
  z.strictObject({
    name: SecretName,
    value: z.string(),
    encoding: z._default(Encoding, 'text'),
    type: z._default(SecretType, 'generic'),
    description: z._default(Description, ''),
    scope: z._default(Scope, PERSONAL),
  }),
);
export type CreateSecret = z.input<typeof CreateSecret>;

export const UpdateSecret = lazySchema(() =>
  z.strictObject({
    value: z.optional(z.string()),
    encoding: z.optional(Encoding),
    description: z.optional(Description),
    type: z.optional(SecretType),
  }),
);
export type UpdateSecret = z.infer<typeof UpdateSecret>;

export const SecretValue = lazySchema(() =>
  z.object({
    value: z.string(),
    encoding: Encoding,
    version: z.number().check(z.int(), z.minimum(1)),
  }),
);
export type SecretValue = z.infer<typeof SecretValue>;
