import { describe, expect, it } from 'vitest';
import { Disposable, DisposableStore } from '../../../src/extension/disposables';

const recorder = () => {
  const ended: string[] = [];
  const item = (name: string, fail = false) => ({
    dispose: () => {
      ended.push(name);
      if (fail) throw new Error(`${name} failed`);
    },
  });
  return { ended, item };
};

describe('DisposableStore', () => {
  it('disposes every item once, the last added first', () => {
    const { ended, item } = recorder();
    const store = new DisposableStore();
    store.add(item('a'));
    store.add(item('b'));
    store.dispose();
    store.dispose();
    expect(ended).toEqual(['b', 'a']);
  });

  it('disposes an item added after the end at once', () => {
    const { ended, item } = recorder();
    const store = new DisposableStore();
    store.dispose();
    store.add(item('late'));
    expect(ended).toEqual(['late']);
  });

  it('disposes the rest when one throws, then throws the first error', () => {
    const { ended, item } = recorder();
    const store = new DisposableStore();
    store.add(item('a'));
    store.add(item('b', true));
    store.add(item('c', true));
    expect(() => store.dispose()).toThrow('c failed');
    expect(ended).toEqual(['c', 'b', 'a']);
  });
});

describe('Disposable', () => {
  it('ends what a part registered in its fields and constructor', () => {
    const { ended, item } = recorder();
    class Part extends Disposable {
      readonly field = this.register(item('field'));
      constructor() {
        super();
        this.register(item('constructor'));
      }
    }
    new Part().dispose();
    expect(ended).toEqual(['constructor', 'field']);
  });
});
