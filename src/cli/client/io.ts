/**
 * Where a CLI command meets its process: what it prints, what it reads, how it opens the signed-in
 * session and how it ends. Each command's `run(…, io)` takes one; `register(program)` hands it
 * `processIo()`, and a unit test hands a recording one whose session's ApiClient talks to a fake
 * fetch, so a command's behaviour is tested without a bundle or a child process.
 */
import type { Command } from 'commander';
import { SecretsError } from '../../core/errors';
import { nodeFetch } from '../../sync/nodeFetch';
import { promptHidden } from './prompt';
import {
  CliError,
  exitCodeOf,
  openSession,
  type GlobalOptions,
  type Session,
  type SessionIo,
} from './session';

export interface CliIo {
  /** Writes to standard output: results, and the one value `get` prints. */
  stdout(text: string): void;
  /** Writes to standard error: messages for people, warnings, errors. */
  stderr(text: string): void;
  /** Whether standard output is a terminal (a value printed there ends with a newline). */
  readonly stdoutIsTTY: boolean;
  /** Whether standard input is a terminal (a value is then asked for, not read from a pipe). */
  readonly stdinIsTTY: boolean;
  /** The environment: NOTEBOOK_SECRETS_SERVER, _TOKEN, _PROJECT, the config folder. */
  readonly env: NodeJS.ProcessEnv;
  /** All of standard input, as UTF-8. */
  readStdin(): Promise<string>;
  /** Asks on the terminal without echoing the answer (a value, a token). */
  promptHidden(question: string): Promise<string>;
  /** Asks on the terminal with the answer shown (a confirmation). */
  ask(question: string): Promise<string>;
  /** The transport of every request to a team server (redirects refused). */
  readonly fetch: typeof globalThis.fetch;
  /** The signed-in session for these options. */
  openSession(options: GlobalOptions): Session;
  /** The command's exit code, when it is not 0 without an error (check, scan, run). */
  setExitCode(code: number): void;
}

/**
 * What opening a session needs of the real process, for the parts that are not a command (attach's
 * store, the JupyterLab bridge, the local routing) and may name another environment.
 */
export function processSessionIo(env: NodeJS.ProcessEnv = process.env): SessionIo {
  return { env, stderr: (text) => void process.stderr.write(text), fetch: nodeFetch };
}

/** The real process: its streams, environment and exit code, and the saved sign-in. */
export function processIo(): CliIo {
  const io: CliIo = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    // Read when asked: touching process.stdin opens it, which `get` never needs.
    get stdoutIsTTY() {
      return process.stdout.isTTY === true;
    },
    get stdinIsTTY() {
      return process.stdin.isTTY === true;
    },
    env: process.env,
    readStdin,
    promptHidden,
    ask,
    fetch: nodeFetch,
    openSession: (options) => openSession(options, io),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
  return io;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function ask(question: string): Promise<string> {
  // Not import(): dist/cli.js runs the bundle as a vm script, where import() is refused.
  const { createInterface } = process.getBuiltinModule('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/** What a failed command shows on stderr (one line; JSON with --json) and its exit code. */
export function errorReport(error: unknown, json: boolean): { stderr: string; exitCode: number } {
  const exitCode = exitCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const code =
    error instanceof SecretsError ? error.code : error instanceof CliError ? error.code : 'error';
  return {
    stderr: json
      ? `${JSON.stringify({ error: { code, message, exit: exitCode } })}\n`
      : `notebook-secrets: ${message}\n`,
    exitCode,
  };
}

/**
 * A commander action for a command's `run`: `run` gets the io (the process's, unless a test
 * gives one) and commander's arguments; a failure is reported through the io by errorReport. The
 * last argument commander passes is the Command; its options say whether --json is on.
 */
export function action<A extends unknown[]>(
  run: (io: CliIo, ...args: A) => Promise<void>,
  io: CliIo = processIo(),
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command | undefined;
    const json = Boolean(
      (command as { optsWithGlobals?: () => GlobalOptions } | undefined)?.optsWithGlobals?.().json,
    );
    try {
      await run(io, ...args);
    } catch (error) {
      const report = errorReport(error, json);
      io.stderr(report.stderr);
      io.setExitCode(report.exitCode);
    }
  };
}
