/** What a test searches for a leaked value in files: all of them under a folder, as text. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir`, read as text. */
export function filesUnder(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    text += statSync(path).isDirectory() ? filesUnder(path) : readFileSync(path, 'latin1');
  }
  return text;
}

/** How many files there are under `dir`, at any depth. */
export function fileCount(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .length;
}
