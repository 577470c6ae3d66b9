/**
 * Text from elsewhere (a kernel's session path, a Jupyter or team server's answer) made safe to
 * show on a terminal or in a prompt: it can neither drive the terminal nor change what the text
 * around it looks like.
 */

// Terminal escape sequences, whole: CSI (ESC [ … final byte, or its 8-bit form U+009B), OSC, DCS,
// SOS, PM and APC strings (up to BEL or ST), and the two-byte ESC sequences.
const ESCAPES =
  // eslint-disable-next-line no-control-regex -- control characters are what it finds
  /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]?|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d-\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[\u0020-\u002f]*[\u0030-\u007e]?/g;

// What is left that a terminal or a renderer treats as more than a character: C0 and C1 controls
// and DEL, bidirectional embeddings, overrides, isolates and marks (Trojan Source), the line and
// paragraph separators, and zero-width characters that can hide a difference.
const CONTROLS =
  // eslint-disable-next-line no-control-regex -- control characters are what it finds
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/**
 * `text` without escape sequences and control characters (each other control shows as `?`), at
 * most `max` characters (then ending in `…`).
 */
export function displayText(text: string, max = 160): string {
  const clean = text.replace(ESCAPES, '').replace(CONTROLS, '?');
  const chars = Array.from(clean);
  return chars.length <= max ? clean : `${chars.slice(0, max - 1).join('')}…`;
}
