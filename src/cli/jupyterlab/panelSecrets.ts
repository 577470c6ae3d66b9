/**
 * The JupyterLab panel's secrets, kept where the CLI keeps them: on the team server when signed
 * in (`notebook-secrets login`, or Sign in in the panel), else in the OS keychain of the machine
 * that runs Jupyter (the local store of `notebook-secrets local`). One class per place, behind one
 * interface, so the bridge switches between them at sign-in and sign-out.
 */
import { InvalidInput, NameTaken, SecretNotFound, SecretsError } from '../../core/errors';
import type { Encoding, Grant, Scope, SecretType } from '../../core/model';
import { PERSONAL } from '../../core/model';
import type { PanelSecret, PanelStore } from '../../core/panelProtocol';
import { assertValidDescription, assertValidName, assertValueSize } from '../../core/validation';
import { ApiError } from '../../sync/errors';
import type { LocalEntry, LocalKeychainStore } from '../client/localKeychainStore';
import type { Session } from '../client/session';

export interface NewSecret {
  name: string;
  value: string;
  encoding: Encoding;
  type: SecretType;
  description: string;
  scope?: Scope | undefined;
}

export interface SecretChange {
  value?: string | undefined;
  encoding?: Encoding | undefined;
  type?: SecretType | undefined;
  description?: string | undefined;
}

/** The operations of the panel on one place. Errors are the typed errors of core. */
export interface PanelSecrets {
  store(): PanelStore;
  list(): Promise<PanelSecret[]>;
  create(input: NewSecret): Promise<PanelSecret>;
  update(id: string, change: SecretChange): Promise<PanelSecret>;
  delete(id: string): Promise<void>;
  reveal(id: string): Promise<{ value: string; encoding: Encoding }>;
  access(id: string): Promise<Grant[]>;
  share(id: string, access: Grant[]): Promise<Grant[]>;
  /** Where a deleted value goes from, for the confirmation. */
  readonly where: string;
}

const LOCAL_ID = 'local:';

/** The local store: every secret is the user's own, personal, known by its name. */
export class KeychainPanelSecrets implements PanelSecrets {
  readonly where = 'the OS keychain of the machine that runs Jupyter';

  constructor(private readonly local: LocalKeychainStore) {}

  store(): PanelStore {
    return { kind: 'keychain' };
  }

  async list(): Promise<PanelSecret[]> {
    return this.local.list().map(localSecret);
  }

  async create(input: NewSecret): Promise<PanelSecret> {
    checkNew(input);
    if (input.scope && input.scope.kind !== 'personal') {
      throw new InvalidInput(
        'Secrets on this machine are personal. Sign in to a team server to keep project or team secrets.',
      );
    }
    if (this.local.entry(input.name)) throw new NameTaken(input.name);
    const { entry } = this.local.set(input.name, {
      value: input.value,
      encoding: input.encoding,
      type: input.type,
      description: input.description,
    });
    return localSecret(entry);
  }

  async update(id: string, change: SecretChange): Promise<PanelSecret> {
    const name = this.nameOf(id);
    checkChange(change);
    const current = this.local.get(name);
    if (!current) throw new SecretNotFound(name);
    const { entry } = this.local.set(name, {
      value: change.value ?? current.value,
      encoding: change.encoding ?? (change.value === undefined ? current.entry.encoding : 'text'),
      ...(change.type !== undefined && { type: change.type }),
      ...(change.description !== undefined && { description: change.description }),
    });
    return localSecret(entry);
  }

  async delete(id: string): Promise<void> {
    const name = this.nameOf(id);
    if (!this.local.delete(name)) throw new SecretNotFound(name);
  }

  async reveal(id: string): Promise<{ value: string; encoding: Encoding }> {
    const name = this.nameOf(id);
    const found = this.local.get(name);
    if (!found) throw new SecretNotFound(name);
    return { value: found.value, encoding: found.entry.encoding };
  }

  async access(): Promise<Grant[]> {
    return [];
  }

  async share(): Promise<Grant[]> {
    throw new InvalidInput(
      'Secrets on this machine cannot be shared. Sign in to a team server to share secrets.',
    );
  }

  private nameOf(id: string): string {
    if (!id.startsWith(LOCAL_ID)) throw new SecretNotFound(id);
    return id.slice(LOCAL_ID.length);
  }
}

function localSecret(entry: LocalEntry): PanelSecret {
  return {
    id: `${LOCAL_ID}${entry.name}`,
    name: entry.name,
    encoding: entry.encoding,
    type: entry.type,
    description: entry.description ?? '',
    scope: PERSONAL,
    version: entry.version,
    created_at: entry.created_at,
    updated_at: entry.updated_at,
    created_by: '',
    access: [],
    role: 'owner',
  };
}

/** The team server, through the CLI's signed-in session (each call is the user's own). */
export class ServerPanelSecrets implements PanelSecrets {
  readonly where: string;

  constructor(private readonly session: Session) {
    this.where = `the team server at ${session.server}`;
  }

  store(): PanelStore {
    return {
      kind: 'server',
      server: this.session.server,
      ...(this.session.user && { user: this.session.user }),
      ...(this.session.project && { project: this.session.project }),
    };
  }

  async list(): Promise<PanelSecret[]> {
    const secrets = await this.session.api.listSecrets();
    if (secrets.some((s) => s.scope.kind === 'personal')) {
      this.session.user ??= (await this.session.api.me()).user.id;
    }
    const me = this.session.user;
    return secrets.map((s) =>
      s.scope.kind === 'personal' && s.created_by !== me ? { ...s, owner: s.created_by } : s,
    );
  }

  async create(input: NewSecret): Promise<PanelSecret> {
    checkNew(input);
    return this.mapped(() =>
      this.session.api.createSecret({
        name: input.name,
        value: input.value,
        encoding: input.encoding,
        type: input.type,
        description: input.description,
        scope: input.scope ?? PERSONAL,
      }),
    );
  }

  async update(id: string, change: SecretChange): Promise<PanelSecret> {
    checkChange(change);
    const current = await this.mapped(() => this.session.api.getSecret(id));
    const body = {
      ...(change.value !== undefined && {
        value: change.value,
        encoding: change.encoding ?? 'text',
      }),
      ...(change.type !== undefined && { type: change.type }),
      ...(change.description !== undefined && { description: change.description }),
    };
    return this.mapped(() => this.session.api.updateSecret(id, current.version, body));
  }

  async delete(id: string): Promise<void> {
    const current = await this.mapped(() => this.session.api.getSecret(id));
    await this.mapped(() => this.session.api.deleteSecret(id, current.version));
  }

  async reveal(id: string): Promise<{ value: string; encoding: Encoding }> {
    const { value, encoding } = await this.mapped(() => this.session.api.getValue(id));
    return { value, encoding };
  }

  async access(id: string): Promise<Grant[]> {
    return (await this.mapped(() => this.session.api.getAccess(id))).access;
  }

  async share(id: string, access: Grant[]): Promise<Grant[]> {
    return (await this.mapped(() => this.session.api.putAccess(id, access))).access;
  }

  /** The server's refusals as the typed errors of core, with its own message. */
  private async mapped<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        throw new SecretsError(
          'not_found',
          'That secret is no longer on the team server, or no longer shared with you.',
        );
      }
      throw error;
    }
  }
}

function checkNew(input: NewSecret): void {
  assertValidName(input.name);
  assertValueSize(input.value);
  assertValidDescription(input.description);
}

function checkChange(change: SecretChange): void {
  if (change.value !== undefined) assertValueSize(change.value);
  if (change.description !== undefined) assertValidDescription(change.description);
}
