/**
 * A recording CliIo for running the CLI's commands in-process: what they print to stdout and
 * stderr, the exit code they set, scripted stdin and prompt answers. Its session is the real
 * openSession (NOTEBOOK_SECRETS_SERVER and _TOKEN in its environment, a config folder of its
 * own), so every request goes through the real ApiClient to the fake server's fetch.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../../src/cli/client/io';
import { openSession } from '../../../src/cli/client/session';
import { FakeServer } from '../sync/fakeServer';

export const SERVER_URL = 'http://127.0.0.1:8787';

export interface RecordingIo extends CliIo {
  /** Everything written to stdout, in order. */
  readonly out: string;
  /** Everything written to stderr, in order. */
  readonly err: string;
  /** What setExitCode set last; undefined: never called (exit 0). */
  readonly exitCode: number | undefined;
  /** Questions asked with promptHidden or ask, in order. */
  readonly questions: string[];
}

export interface IoScript {
  /** What stdin holds (read whole by readStdin). */
  stdin?: string;
  stdinIsTTY?: boolean;
  stdoutIsTTY?: boolean;
  /** Answers typed at promptHidden and ask, in order. */
  answers?: string[];
  /** Variables besides the sign-in and the config folder. */
  env?: NodeJS.ProcessEnv;
  /** The token to sign in with; default: the fake server's user `alice`. */
  token?: string;
}

/** A signed-in io against `server`: user alice, unless the script names another token. */
export function recordingIo(server: FakeServer, script: IoScript = {}): RecordingIo {
  const out: string[] = [];
  const err: string[] = [];
  const questions: string[] = [];
  const answers = [...(script.answers ?? [])];
  let exitCode: number | undefined;
  const answer = (question: string): Promise<string> => {
    questions.push(question);
    const next = answers.shift();
    if (next === undefined) throw new Error(`No scripted answer for: ${question}`);
    return Promise.resolve(next);
  };
  const io: RecordingIo = {
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    stdoutIsTTY: script.stdoutIsTTY ?? false,
    stdinIsTTY: script.stdinIsTTY ?? false,
    env: {
      NOTEBOOK_SECRETS_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'nbsec-cli-')),
      NOTEBOOK_SECRETS_SERVER: SERVER_URL,
      NOTEBOOK_SECRETS_TOKEN: script.token ?? server.addUser('alice'),
      // Tokens a test saves go to the config folder's 0600 file, never the OS keyring.
      NOTEBOOK_SECRETS_KEYRING: '0',
      ...script.env,
    },
    readStdin: () => Promise.resolve(script.stdin ?? ''),
    promptHidden: answer,
    ask: answer,
    fetch: server.fetch,
    openSession: (options) => openSession(options, io),
    setExitCode: (code) => {
      exitCode = code;
    },
    get out() {
      return out.join('');
    },
    get err() {
      return err.join('');
    },
    get exitCode() {
      return exitCode;
    },
    questions,
  };
  return io;
}

/** A fake server with user alice (token `tok-alice`) and bob, on a team `data` together. */
export function fakeServer(): FakeServer {
  const server = new FakeServer();
  server.addUser('alice');
  server.addUser('bob');
  server.addTeam('data', ['alice', 'bob']);
  return server;
}
