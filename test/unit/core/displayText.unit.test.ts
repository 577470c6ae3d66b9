import { describe, expect, it } from 'vitest';
import { displayText } from '../../../src/core/displayText';

/** Any character a terminal or a renderer treats as more than a character. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

describe('displayText', () => {
  it('removes terminal escape sequences whole', () => {
    expect(displayText('a\u001b[8mhidden\u001b[0mb')).toBe('ahiddenb');
    expect(displayText('\u001b[2J\u001b[1;1Hx')).toBe('x');
    expect(displayText('\u001b]0;title\u0007x')).toBe('x');
    expect(displayText('\u001b]8;;https://e.example\u001b\\link\u001b]8;;\u001b\\')).toBe('link');
    expect(displayText('\u009b31mred')).toBe('red');
    expect(displayText('a\u001bcb')).toBe('ab');
  });

  it('shows every other control, bidi override and line break as ?', () => {
    const shown = displayText('x\r\nAsks\u202eTXT.exe\u2066y\u200bz\u0085\u0000');
    expect(shown).toBe('x??Asks?TXT.exe?y?z??');
    expect(shown).not.toMatch(CONTROL);
  });

  it('bounds the length', () => {
    expect(displayText('a'.repeat(500), 10)).toBe(`${'a'.repeat(9)}…`);
    expect(displayText('😀'.repeat(20), 5)).toBe('😀😀😀😀…');
    expect(displayText('short', 10)).toBe('short');
  });
});
