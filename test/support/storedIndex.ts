/**
 * The local store's index as a key-value store holds it, for tests: the entries of every chunk
 * in chunk order, and the chunks' text (to check that no value reached it).
 */
import { chunkNumber } from '../../src/core/indexChunks';

export interface StoredIndex {
  entries: Record<string, unknown>[];
  text: string;
}

export function storedIndex(data: ReadonlyMap<string, string>): StoredIndex {
  const chunks = [...data.keys()]
    .filter((key) => chunkNumber(key) !== undefined)
    .sort((a, b) => chunkNumber(a)! - chunkNumber(b)!)
    .map((key) => data.get(key)!);
  return {
    entries: chunks.flatMap(
      (text) => (JSON.parse(text) as { secrets: Record<string, unknown>[] }).secrets,
    ),
    text: chunks.join('\n'),
  };
}
