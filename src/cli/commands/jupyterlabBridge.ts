/**
 * `notebook-secrets jupyterlab-bridge`: the process that JupyterLab's server extension starts and
 * supervises (hidden from help: people do not run it). It speaks JSON lines on stdin and stdout
 * with its parent only, so nothing else on the machine can reach it:
 *
 *   in   {"id": 1, "init": {"jupyterUrl", "token", "rootDir"}}    once, first
 *   in   {"id": 2, "request": {"op": "state"}}                     a panel request (panelProtocol)
 *   out  {"id": 2, "ok": true, "result": {...}}  or  {"id": 2, "ok": false, "error": {code, message}}
 *   out  {"event": "questions" | "changed" | "kernels", ...}       for the panels that listen
 *
 * Logs go to stderr (names, never values); the parent writes them to the Jupyter server's log.
 * The bridge stops when its stdin closes (the Jupyter server stopped).
 *
 * Its seam is `runBridge(input, write, log)`: stdin is a stream of requests here, not something
 * read whole, so the command hands the process's streams to it rather than through a CliIo.
 */
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import type { BrokerLog } from '../../broker/secretSource';
import { SecretsError } from '../../core/errors';
import { describeError } from '../../broker/describeError';
import { JupyterLabBridge, type BridgeEvent } from '../jupyterlab/bridge';

export function register(program: Command): void {
  program
    .command('jupyterlab-bridge', { hidden: true })
    .description("Serve JupyterLab's Secrets panel and its kernels (started by the Jupyter server)")
    .action(async () => {
      // @jupyterlab/services reports each kernel connection with console.debug; stdout is ours.
      console.debug = () => undefined;
      console.log = (...args: unknown[]) => console.error(...args);
      await runBridge(process.stdin, (line) => process.stdout.write(`${line}\n`), stderrLog());
      process.exit(0);
    });
}

interface InitMessage {
  jupyterUrl: string;
  token: string;
  rootDir?: string;
}

/** Reads requests from `input` until it ends; resolves once the bridge has closed. */
export async function runBridge(
  input: NodeJS.ReadableStream,
  write: (line: string) => void,
  log: BrokerLog,
): Promise<void> {
  const send = (message: object) => write(JSON.stringify(message));
  const emit = (event: BridgeEvent) => send(event);
  let bridge: JupyterLabBridge | undefined;
  let starting: Promise<void> | undefined;
  const pending = new Set<Promise<void>>();
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let message: { id?: unknown; init?: InitMessage; request?: unknown };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      log.warn('The bridge got a line that is not JSON; ignored.');
      continue;
    }
    const id = message.id;
    const work = (async () => {
      try {
        if (message.init) {
          if (bridge) throw new SecretsError('invalid_input', 'The bridge is already started.');
          const { jupyterUrl, token, rootDir } = message.init;
          bridge = new JupyterLabBridge({ jupyterUrl, token, rootDir, log, emit });
          starting = bridge.start();
          await starting;
          send({ id, ok: true, result: {} });
          return;
        }
        if (!bridge) throw new SecretsError('unavailable', 'The bridge is not started yet.');
        await starting;
        const result = await bridge.handle(message.request);
        send({ id, ok: true, result });
      } catch (error) {
        const code = error instanceof SecretsError ? error.code : 'internal';
        const text =
          error instanceof SecretsError
            ? error.message
            : `The Secrets panel's request failed: ${describeError(error)}`;
        if (!(error instanceof SecretsError)) log.error(text);
        send({ id, ok: false, error: { code, message: text } });
      }
    })();
    pending.add(work);
    void work.finally(() => pending.delete(work));
  }
  // Open consent questions are dismissed (their cells denied); requests still running end.
  await bridge?.close();
  await Promise.allSettled([...pending]);
}

function stderrLog(): BrokerLog {
  const write = (level: string, m: string) => process.stderr.write(`[${level}] ${m}\n`);
  return {
    debug: () => undefined,
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}
