/**
 * Consent for JupyterLab: the question goes to the browser (the panel shows it as a dialog) and
 * the answer comes back; "Always for This Notebook" grants are kept in a file of the CLI's config
 * folder (notebook and name, never a value), so they outlive the Jupyter server.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ConsentChoice, ConsentRequest, ConsentState } from '../../broker/consent';
import type { ConsentQuestion } from '../../core/panelProtocol';
import { writePrivateFile } from '../client/privateFile';

/** How long a question waits for an answer before it counts as dismissed (the cell is denied). */
export const QUESTION_TIMEOUT_MS = 280_000;

/** Grants in a JSON file (0600); an unreadable file counts as no grants and is rewritten. */
export class FileConsentState implements ConsentState {
  private cache: Record<string, unknown> | undefined;

  constructor(private readonly path: string) {}

  get<T>(key: string): T | undefined {
    return this.read()[key] as T | undefined;
  }

  update(key: string, value: unknown): Promise<void> {
    const next = { ...this.read(), [key]: value };
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    writePrivateFile(this.path, `${JSON.stringify(next, null, 2)}\n`);
    this.cache = next;
    return Promise.resolve();
  }

  private read(): Record<string, unknown> {
    if (this.cache) return this.cache;
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
      this.cache = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    } catch {
      this.cache = {};
    }
    return this.cache;
  }
}

interface Open {
  question: ConsentQuestion;
  resolve(choice: ConsentChoice | undefined): void;
}

/**
 * The questions waiting for the browser. `ask` is the ConsentPolicy's prompt: it opens a question
 * and resolves with the answer, or with undefined (dismissed: that request is denied) after
 * QUESTION_TIMEOUT_MS, e.g. when no JupyterLab page is open.
 */
export class ConsentRelay {
  private readonly open = new Map<string, Open>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly timeoutMs = QUESTION_TIMEOUT_MS) {}

  ask = (request: ConsentRequest): Promise<ConsentChoice | undefined> =>
    new Promise((resolve) => {
      const id = randomUUID();
      const timer = setTimeout(() => this.answer(id, null), this.timeoutMs);
      timer.unref?.();
      this.open.set(id, {
        question: { id, label: request.label, name: request.name },
        resolve: (choice) => {
          clearTimeout(timer);
          resolve(choice);
        },
      });
      this.emit();
    });

  /** The browser's answer; null is a dismissed dialog. False when the question is not open. */
  answer(id: string, choice: ConsentChoice | null): boolean {
    const open = this.open.get(id);
    if (!open) return false;
    this.open.delete(id);
    open.resolve(choice ?? undefined);
    this.emit();
    return true;
  }

  questions(): ConsentQuestion[] {
    return [...this.open.values()].map((o) => o.question);
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Dismisses every open question (the bridge is stopping). */
  dispose(): void {
    for (const id of [...this.open.keys()]) this.answer(id, null);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
