/**
 * Consent: the first time a notebook asks for a secret, the user chooses Allow once / Always for
 * this notebook / Deny. "Always" is a persisted grant (notebook URI + name, never a value);
 * "Allow once" and "Deny" hold for the running kernel session, so a loop of calls asks once.
 * Pure: the prompt and the storage are injected.
 */
import * as z from '../core/zod';

export type ConsentChoice = 'once' | 'always' | 'deny';
export type ConsentDecision = 'allow' | 'deny';

export interface ConsentRequest {
  /** Consent key: the notebook URI (or server + path for remote kernels). */
  notebook: string;
  /** Short label for the prompt, e.g. the notebook's file name. */
  label: string;
  /** The secret name asked for. */
  name: string;
  /** The kernel session asking (session-scoped decisions end with it). */
  sessionId: string;
  /**
   * Several names asked for at once (the notebook's environment): `name` is the first, and the
   * answer holds for all of them.
   */
  names?: string[];
}

/** Small key-value persistence; VS Code's Memento (`context.globalState`) fits. */
export interface ConsentState {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

export const NotebookGrant = z.object({
  notebook: z.string().check(z.minLength(1)),
  name: z.string().check(z.minLength(1)),
  grantedAt: z.string(),
});
export type NotebookGrant = z.infer<typeof NotebookGrant>;

export const GRANTS_KEY = 'notebookSecrets.notebookGrants';

export interface ConsentPolicyOptions {
  state: ConsentState;
  /** Asks the user; undefined means dismissed (treated as Deny for this request only). */
  ask: (request: ConsentRequest) => Promise<ConsentChoice | undefined>;
  /** Names allowed without asking (attach's --allow, run's --only). */
  preapproved?: (name: string) => boolean;
  now?: () => Date;
}

export class ConsentPolicy {
  private readonly session = new Map<string, ConsentDecision>();
  private readonly pending = new Map<string, Promise<ConsentDecision>>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: ConsentPolicyOptions) {}

  /** Allowed or denied, asking the user when nothing recorded decides it. */
  async decide(request: ConsentRequest): Promise<ConsentDecision> {
    const known = this.peek(request.notebook, request.sessionId, request.name);
    if (known) return known;
    // Concurrent requests of one notebook for one name share a single prompt.
    const promptKey = key(request.notebook, request.name);
    let prompt = this.pending.get(promptKey);
    if (!prompt) {
      prompt = this.prompt(request).finally(() => this.pending.delete(promptKey));
      this.pending.set(promptKey, prompt);
    }
    const decision = await prompt;
    return decision;
  }

  /**
   * Each of `names` allowed or denied, asking the user once for all the names nothing recorded
   * decides (the notebook's environment: one dialog listing them).
   */
  async decideAll(
    request: Omit<ConsentRequest, 'name' | 'names'>,
    names: readonly string[],
  ): Promise<Map<string, ConsentDecision>> {
    const open = [...new Set(names)].filter(
      (name) => !this.peek(request.notebook, request.sessionId, name),
    );
    if (open.length > 0) {
      const promptKey = key(request.notebook, `\0${open.join(',')}`);
      let prompt = this.pending.get(promptKey);
      if (!prompt) {
        prompt = this.promptAll({ ...request, name: open[0]!, names: open }).finally(() =>
          this.pending.delete(promptKey),
        );
        this.pending.set(promptKey, prompt);
      }
      await prompt;
    }
    const decisions = new Map<string, ConsentDecision>();
    for (const name of names) {
      decisions.set(name, this.peek(request.notebook, request.sessionId, name) ?? 'deny');
    }
    return decisions;
  }

  /** What is recorded for a name, without asking: undefined when the user would be asked. */
  peek(notebook: string, sessionId: string, name: string): ConsentDecision | undefined {
    const sessionKey = key(sessionId, name);
    const recorded = this.session.get(sessionKey);
    if (recorded) return recorded;
    if (this.options.preapproved?.(name) || this.hasGrant(notebook, name)) {
      // Remembered for the session so a loop does not re-read the grants; revoking clears it.
      this.session.set(sessionKey, 'allow');
      return 'allow';
    }
    return undefined;
  }

  private async promptAll(request: ConsentRequest & { names: string[] }): Promise<ConsentDecision> {
    let choice: ConsentChoice | undefined;
    try {
      choice = await this.options.ask(request);
    } catch {
      choice = undefined;
    }
    if (choice === 'always') {
      const now = (this.options.now ?? (() => new Date()))().toISOString();
      const fresh = request.names.filter((n) => !this.hasGrant(request.notebook, n));
      await this.save([
        ...this.grants(),
        ...fresh.map((name) => ({ notebook: request.notebook, name, grantedAt: now })),
      ]);
    }
    // A dismissed dialog denies this request only: nothing is recorded.
    if (choice === undefined) return 'deny';
    const decision: ConsentDecision = choice === 'deny' ? 'deny' : 'allow';
    for (const name of request.names) this.session.set(key(request.sessionId, name), decision);
    this.emit();
    return decision;
  }

  private async prompt(request: ConsentRequest): Promise<ConsentDecision> {
    let choice: ConsentChoice | undefined;
    try {
      choice = await this.options.ask(request);
    } catch {
      choice = undefined;
    }
    switch (choice) {
      case 'always':
        await this.grant(request.notebook, request.name);
        this.session.set(key(request.sessionId, request.name), 'allow');
        return 'allow';
      case 'once':
        this.session.set(key(request.sessionId, request.name), 'allow');
        this.emit();
        return 'allow';
      case 'deny':
        this.session.set(key(request.sessionId, request.name), 'deny');
        this.emit();
        return 'deny';
      default:
        return 'deny';
    }
  }

  hasGrant(notebook: string, name: string): boolean {
    return this.grants().some((g) => g.notebook === notebook && g.name === name);
  }

  /** Persisted grants, sorted by notebook then name. */
  grants(): NotebookGrant[] {
    const raw = this.options.state.get<unknown>(GRANTS_KEY);
    const parsed = z.array(NotebookGrant).safeParse(raw ?? []);
    const list = parsed.success ? parsed.data : [];
    return list.sort(
      (a, b) => a.notebook.localeCompare(b.notebook) || a.name.localeCompare(b.name),
    );
  }

  async grant(notebook: string, name: string): Promise<void> {
    if (this.hasGrant(notebook, name)) return;
    const now = (this.options.now ?? (() => new Date()))();
    await this.save([...this.grants(), { notebook, name, grantedAt: now.toISOString() }]);
  }

  /** Revokes one grant, or every grant of a notebook when `name` is omitted. Also forgets
   * the session decisions ("Allow once"), so the next request asks again. */
  async revoke(notebook: string, name?: string): Promise<void> {
    const keep = this.grants().filter(
      (g) => !(g.notebook === notebook && (name === undefined || g.name === name)),
    );
    this.session.clear();
    await this.save(keep);
  }

  async revokeAll(): Promise<void> {
    this.session.clear();
    await this.save([]);
  }

  /** Whether any running kernel session has a remembered answer ("Allow once", "Deny"). */
  hasSessionDecisions(): boolean {
    return this.session.size > 0;
  }

  /** Forgets every "Allow once" and "Deny" answer, so running kernels ask again. */
  forgetAllSessions(): void {
    this.session.clear();
    this.emit();
  }

  /** Forgets the session decisions of a kernel session (it restarted or went away). */
  forgetSession(sessionId: string): void {
    for (const k of this.session.keys()) {
      if (k.startsWith(sessionId + '\0')) this.session.delete(k);
    }
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private async save(grants: NotebookGrant[]): Promise<void> {
    await this.options.state.update(GRANTS_KEY, grants);
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

function key(a: string, b: string): string {
  return `${a}\0${b}`;
}
