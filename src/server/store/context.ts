/** What every store module works with, and the shapes the routes hand to it. */
import type { Scope } from '../../core/model';
import type { Keyring } from '../crypto';
import type { SqlDriver } from '../db/driver';

/** Who is calling, resolved from their token once per request. */
export interface Caller {
  userId: string;
  admin: boolean;
  tokenId: string;
  /** The admin who created the caller's token for them (null: their own, or from start-up). */
  tokenCreatedBy: string | null;
  teams: string[];
  projects: string[];
  /** Grant principals that mean the caller: `user:<id>` and `team:<id>` of each team. */
  principals: string[];
  /** The client as it names itself, and its address (for audit rows). */
  client: string;
  ip: string;
}

export interface StoreOptions {
  /** How many versions keep their value for restore (older values are destroyed). */
  keepValues: number;
}

/** The database, the keys and the settings, passed to every store function. */
export interface StoreContext {
  db: SqlDriver;
  keyring: Keyring;
  databaseId: string;
  options: StoreOptions;
}

export interface NewSecret {
  name: string;
  value: string;
  encoding: 'text' | 'base64';
  type: string;
  description: string;
  scope: Scope;
}

export interface SecretPatch {
  /** A new name in the same scope (a rename keeps the id, versions and grants). */
  name?: string;
  value?: string;
  encoding?: 'text' | 'base64';
  description?: string;
  type?: string;
}
