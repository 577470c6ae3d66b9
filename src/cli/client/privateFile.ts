/**
 * Files the CLI writes (values, exports, its own credentials) are 0600 whatever was there before:
 * the bytes go to a new temp file (created exclusively, so never through a planted link) next to
 * the target, which then replaces the target by rename. A target that is a symbolic link is
 * refused rather than followed into someone else's file.
 */
import { closeSync, fsyncSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Why a private file could not be written; the message names the path, never the content. */
export class PrivateFileError extends Error {}

export function writePrivateFile(path: string, data: string | Uint8Array): void {
  let existing;
  try {
    existing = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw failure(path, error);
  }
  if (existing?.isSymbolicLink()) {
    throw new PrivateFileError(
      `${path} is a symbolic link; the CLI does not write through links. Remove it or choose another path.`,
    );
  }
  if (existing && !existing.isFile()) {
    throw new PrivateFileError(`${path} exists and is not a regular file.`);
  }
  // Unique enough; 'wx' below refuses any name that exists, so nothing is ever overwritten.
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (error) {
    throw failure(path, error);
  }
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let offset = 0; offset < bytes.length;)
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw failure(path, error);
  }
}

function failure(path: string, error: unknown): PrivateFileError {
  return new PrivateFileError(
    `Cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
  );
}
