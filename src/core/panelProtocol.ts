/**
 * What JupyterLab's Secrets panel asks of the server that keeps its secrets, and the answers.
 * The panel (in the browser) posts `{op, …}` to the Jupyter server extension, which hands it,
 * unchanged, to the `notebook-secrets jupyterlab-bridge` process; both ends parse with these
 * schemas. Values travel only in `create`, `update` and `reveal`, never in an event or a log.
 */
import * as z from './zod';
import { lazySchema } from './lazySchema';
import {
  Description,
  Encoding,
  Grant,
  Scope,
  SecretMetadata,
  SecretName,
  SecretType,
} from './model';

/** A secret as the panel lists it: metadata, and whose it is when someone shared theirs. */
export const PanelSecret = lazySchema(() =>
  z.object({
    ...SecretMetadata.shape,
    /** The owner of someone else's personal secret shared with you. */
    owner: z.optional(z.string()),
  }),
);
export type PanelSecret = z.infer<typeof PanelSecret>;

/** Where the panel's secrets live now. */
export const PanelStore = lazySchema(() =>
  z.discriminatedUnion('kind', [
    /**
     * The OS keychain of the machine that runs Jupyter (`notebook-secrets local`);
     * `savedServer` is the team server to offer at sign-in, when one was used before.
     */
    z.object({ kind: z.literal('keychain'), savedServer: z.optional(z.string()) }),
    z.object({
      kind: z.literal('server'),
      server: z.string(),
      user: z.optional(z.string()),
      project: z.optional(z.string()),
    }),
    /** Neither: not signed in and no keychain. The message says what to do. */
    z.object({
      kind: z.literal('unavailable'),
      message: z.string(),
      savedServer: z.optional(z.string()),
    }),
  ]),
);
export type PanelStore = z.infer<typeof PanelStore>;

/** A consent question waiting for an answer in the browser. */
export const ConsentQuestion = lazySchema(() =>
  z.object({
    id: z.string(),
    /** The notebook (path on the Jupyter server) and where it runs, for the dialog. */
    label: z.string(),
    name: z.string(),
  }),
);
export type ConsentQuestion = z.infer<typeof ConsentQuestion>;

export const PanelState = lazySchema(() =>
  z.object({
    store: PanelStore,
    secrets: z.array(PanelSecret),
    /** Kernels that have get_secret now, by kernel id. */
    kernels: z.array(z.string()),
    questions: z.array(ConsentQuestion),
  }),
);
export type PanelState = z.infer<typeof PanelState>;

export const StandingGrant = lazySchema(() =>
  z.object({ notebook: z.string(), label: z.string(), name: z.string(), grantedAt: z.string() }),
);
export type StandingGrant = z.infer<typeof StandingGrant>;

/** One request of the panel, by `op`. */
export const PanelRequest = lazySchema(() =>
  z.discriminatedUnion('op', [
    z.strictObject({ op: z.literal('state') }),
    z.strictObject({
      op: z.literal('create'),
      name: SecretName,
      value: z.string(),
      encoding: z._default(Encoding, 'text'),
      type: z._default(SecretType, 'generic'),
      description: z._default(Description, ''),
      scope: z.optional(Scope),
    }),
    z.strictObject({
      op: z.literal('update'),
      id: z.string().check(z.minLength(1)),
      value: z.optional(z.string()),
      encoding: z.optional(Encoding),
      type: z.optional(SecretType),
      description: z.optional(Description),
    }),
    z.strictObject({ op: z.literal('delete'), id: z.string().check(z.minLength(1)) }),
    z.strictObject({ op: z.literal('reveal'), id: z.string().check(z.minLength(1)) }),
    z.strictObject({ op: z.literal('access'), id: z.string().check(z.minLength(1)) }),
    z.strictObject({
      op: z.literal('share'),
      id: z.string().check(z.minLength(1)),
      access: z.array(Grant),
    }),
    z.strictObject({
      op: z.literal('signin'),
      server: z.string().check(z.minLength(1)),
      token: z.string(),
    }),
    z.strictObject({ op: z.literal('signout') }),
    z.strictObject({ op: z.literal('grants') }),
    z.strictObject({
      op: z.literal('revoke'),
      grants: z.array(z.object({ notebook: z.string(), name: z.string() })),
      forgetSessions: z._default(z.boolean(), false),
    }),
    z.strictObject({
      op: z.literal('consent'),
      question: z.string(),
      choice: z.nullable(z.enum(['once', 'always', 'deny'])),
    }),
    z.strictObject({ op: z.literal('kernel'), kernelId: z.string().check(z.minLength(1)) }),
    z.strictObject({
      op: z.literal('scan'),
      cells: z.array(
        z.object({ number: z.number().check(z.int(), z.minimum(1)), source: z.string() }),
      ),
    }),
  ]),
);
export type PanelRequest = z.input<typeof PanelRequest>;
export type PanelOp = PanelRequest['op'];

export const RevealAnswer = lazySchema(() => z.object({ value: z.string(), encoding: Encoding }));
export const SecretAnswer = lazySchema(() => z.object({ secret: PanelSecret }));
export const AccessAnswer = lazySchema(() => z.object({ access: z.array(Grant) }));
export const GrantsAnswer = lazySchema(() =>
  z.object({ grants: z.array(StandingGrant), sessionDecisions: z.boolean() }),
);
export const KernelAnswer = lazySchema(() => z.object({ ready: z.boolean() }));
export const ScanAnswer = lazySchema(() =>
  z.object({
    findings: z.array(
      z.object({ cell: z.number(), line: z.number(), rule: z.string(), masked: z.string() }),
    ),
  }),
);

/** An error answer: `{error: {code, message}}`, the message for the person who asked. */
export const PanelError = lazySchema(() =>
  z.object({ error: z.object({ code: z.string(), message: z.string() }) }),
);
