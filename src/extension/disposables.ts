/**
 * What a part of the extension owns and lets go of when it ends: listeners, event emitters,
 * diagnostic collections. The shape of VS Code's own `DisposableStore` and `Disposable`
 * (src/vs/base/common/lifecycle.ts in microsoft/vscode): each item added once, all disposed
 * together, the last added first; disposing twice does nothing, and an item added after the end is
 * disposed at once rather than leaked.
 */
export interface DisposableLike {
  dispose(): unknown;
}

export class DisposableStore implements DisposableLike {
  private readonly items: DisposableLike[] = [];
  private disposed = false;

  add<T extends DisposableLike>(item: T): T {
    if (this.disposed) item.dispose();
    else this.items.push(item);
    return item;
  }

  /**
   * Disposes every item, the last added first. One that throws does not keep the others alive:
   * the first error is thrown once all are done.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    let failure: { error: unknown } | undefined;
    for (const item of this.items.splice(0).reverse()) {
      try {
        item.dispose();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}

/** A part that owns disposables: it registers each where it makes it, and `dispose()` ends all. */
export abstract class Disposable implements DisposableLike {
  private readonly owned = new DisposableStore();

  protected register<T extends DisposableLike>(item: T): T {
    return this.owned.add(item);
  }

  protected registerAll(...items: DisposableLike[]): void {
    for (const item of items) this.owned.add(item);
  }

  dispose(): void {
    this.owned.dispose();
  }
}
