/** What every part of the sync engine works with: the client, the local store, the durable state. */
import type { KeyValueSecretStore } from '../../core/keyValueStore';
import type { LocalSecretStore } from '../../core/localStore';
import type { ApiClient } from '../client';
import { saveSyncState, type SyncStateFile } from '../syncState';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Receives names, ids and counts only: the engine never passes a value or a token to it. */
export type SyncLogger = (level: LogLevel, message: string) => void;

export interface SyncReport {
  pushed: number;
  pulled: number;
  removed: number;
  conflicts: number;
  /** Entries the server refused for good (bad input, too large…), with the server's message. */
  errors: { name: string; message: string }[];
}

/** The engine's parts and settings, and the state they share; `SyncEngine` builds one. */
export interface EngineContext {
  readonly client: ApiClient;
  readonly store: LocalSecretStore;
  readonly kv: KeyValueSecretStore;
  readonly log: SyncLogger;
  readonly now: () => Date;
  /** Page size of /v1/changes. */
  readonly pageLimit: number;
  /** Parallel value downloads while pulling. */
  readonly concurrency: number;
  /** Most pages of /v1/changes one round reads. */
  readonly maxPages: number;
  /** The durable state as last read or written: change it, then saveState. */
  state: SyncStateFile;
  /** The signed-in user's server id, once asked (see whoAmI). */
  me: string | undefined;
  /**
   * Whether the server has POST /v1/values, for the session: unknown (undefined) until its first
   * answer, false once it answered 404 (an older server).
   */
  batchValues: boolean | undefined;
  /** False once the server refused a full listing in parts (an older server), for the session. */
  listingParts: boolean | undefined;
  /** The user whose entries adoptOwners has checked in this session. */
  ownersAdopted: string | undefined;
}

export async function saveState(ctx: EngineContext): Promise<void> {
  await saveSyncState(ctx.kv, ctx.state);
}

/** The server's id of the signed-in user (asked once per session). */
export async function whoAmI(ctx: EngineContext): Promise<string> {
  ctx.me ??= (await ctx.client.me()).user.id;
  return ctx.me;
}
