/**
 * Per-kernel bearer tokens. A token is 256 random bits; the registry keys sessions by the token's
 * SHA-256 so a lookup does not compare secret bytes, and confirms with a constant-time compare.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { displayText } from '../core/displayText';

export interface KernelSession {
  /** Stable id of this session (not the token). */
  readonly id: string;
  /** What consent is keyed by: a notebook URI, or a server path for remote kernels. */
  readonly notebook: string;
  /**
   * For logs and the consent prompt: a short human label, without control characters or escape
   * sequences (a session path comes from the kernel's server, and may carry any text).
   */
  readonly label: string;
  readonly createdAt: number;
}

/** The longest label shown, in characters. */
const LABEL_MAX = 120;

export class KernelSessions {
  private readonly byHash = new Map<string, { token: Buffer; session: KernelSession }>();
  private counter = 0;

  /** Issues a new token for a kernel; returns the token (to inject) and its session. */
  issue(notebook: string, label = notebook): { token: string; session: KernelSession } {
    const raw = randomBytes(32);
    const token = raw.toString('base64url');
    const session: KernelSession = {
      id: `k${++this.counter}-${randomBytes(4).toString('hex')}`,
      notebook,
      label: displayText(label, LABEL_MAX),
      createdAt: Date.now(),
    };
    this.byHash.set(hash(token), { token: Buffer.from(token), session });
    return { token, session };
  }

  /** The session a presented token belongs to, or undefined. */
  lookup(presented: string): KernelSession | undefined {
    if (presented.length === 0 || presented.length > 256) return undefined;
    const entry = this.byHash.get(hash(presented));
    if (!entry) return undefined;
    const given = Buffer.from(presented);
    if (given.length !== entry.token.length || !timingSafeEqual(given, entry.token)) {
      return undefined;
    }
    return entry.session;
  }

  /**
   * A new token for the session of `token`, which stops working: the kernel keeps its session
   * (and the answers given to it) under a token only the new holder knows.
   */
  rotate(token: string): string | undefined {
    const entry = this.byHash.get(hash(token));
    if (!entry) return undefined;
    this.byHash.delete(hash(token));
    const fresh = randomBytes(32).toString('base64url');
    this.byHash.set(hash(fresh), { token: Buffer.from(fresh), session: entry.session });
    return fresh;
  }

  revoke(token: string): void {
    this.byHash.delete(hash(token));
  }

  /** Revokes every token of a notebook (e.g. when its kernel is disposed). */
  revokeNotebook(notebook: string): void {
    for (const [key, entry] of this.byHash) {
      if (entry.session.notebook === notebook) this.byHash.delete(key);
    }
  }

  get size(): number {
    return this.byHash.size;
  }
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
