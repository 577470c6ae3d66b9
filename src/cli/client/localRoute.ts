/**
 * Not signed in (no saved or NOTEBOOK_SECRETS_* sign-in, no --server), `set/get/list/delete/history
 * …` run as `local set/get/list/delete/history …`. Kept apart from the `local` command so that a
 * signed-in `get` does not load the keychain code.
 */

/** The verbs that use the local store when not signed in, and the `local` verb each becomes. */
const LOCAL_VERBS: Record<string, string> = {
  set: 'set',
  get: 'get',
  list: 'list',
  ls: 'list',
  delete: 'delete',
  rm: 'delete',
  history: 'history',
};

let routed = false;

/** Whether this run's `set/get/list/delete/history` came to `local` because nobody is signed in. */
export function wasRoutedToLocal(): boolean {
  return routed;
}

/** The arguments to parse: `argv` itself, or its `local …` form when nobody is signed in. */
export async function routeToLocal(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  const verb = argv[2];
  if (verb === undefined || !Object.hasOwn(LOCAL_VERBS, verb)) return argv;
  if (
    argv.some((a) => a === '--server' || a.startsWith('--server=') || a === '--help' || a === '-h')
  )
    return argv;
  if (env.NOTEBOOK_SECRETS_SERVER) return argv;
  // Loaded only for these verbs: the session brings the API client and its schemas.
  const [{ CliError, EXIT, openSession }, { processSessionIo }] = await Promise.all([
    import('./session'),
    import('./io'),
  ]);
  try {
    openSession({}, processSessionIo(env));
    return argv;
  } catch (error) {
    if (!(error instanceof CliError && error.exitCode === EXIT.unauthorized)) return argv;
  }
  routed = true;
  return [argv[0]!, argv[1]!, 'local', LOCAL_VERBS[verb]!, ...argv.slice(3)];
}
