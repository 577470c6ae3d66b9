/** UTF-8 length and base64 helpers that behave the same in Node and in browsers. */
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8ByteLength(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Node's Buffer where there is one (fast for large values); browsers use atob and btoa. */
interface Base64Codec {
  from(
    data: ArrayBufferLike | string,
    offsetOrEncoding?: number | string,
    length?: number,
  ): {
    toString(encoding: string): string;
  } & ArrayLike<number>;
}
const nodeBuffer = (globalThis as { Buffer?: Base64Codec }).Buffer;

export function bytesToBase64(bytes: Uint8Array): string {
  if (nodeBuffer) {
    return nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  }
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isBase64(text: string): boolean {
  return BASE64.test(text);
}

/** Decodes strict base64 (no whitespace, correct padding); throws on anything else. */
export function base64ToBytes(text: string): Uint8Array {
  if (!isBase64(text)) throw new Error('The stored file value is not valid base64.');
  if (nodeBuffer) return new Uint8Array(nodeBuffer.from(text, 'base64'));
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

/** True when the bytes are valid UTF-8 (a file that can also be read as text). */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
