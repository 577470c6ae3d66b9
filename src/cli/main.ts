/**
 * The `notebook-secrets` command: the subcommands are in ./program.ts, each in
 * src/cli/commands/<name>.ts.
 */
import { CommanderError } from 'commander';
import { routeToLocal } from './client/localRoute';
import { createProgram, registerSubcommands } from './program';

/** Kept in step with EXIT in client/session.ts, which this file does not load at start. */
const EXIT = { ok: 0, error: 1, usage: 2 } as const;

async function main(): Promise<void> {
  // Not signed in, set/get/list/delete use the local store in the OS keychain.
  const argv = await routeToLocal(process.argv);
  const program = createProgram();
  await registerSubcommands(program, argv);
  await program.parseAsync(argv);
}
main().catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  process.stderr.write(`notebook-secrets: ${(error as Error).message}\n`);
  process.exitCode = EXIT.error;
});
