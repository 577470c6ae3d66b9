/** Input typed at a terminal that must not be echoed (tokens, values). */

/** Asks on the terminal without echoing the answer; resolves with the line typed. */
export async function promptHidden(question: string): Promise<string> {
  // Not import(): dist/cli.js runs the bundle as a vm script, where import() is refused.
  const { createInterface } = process.getBuiltinModule('node:readline');
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const output = rl as unknown as { _writeToOutput?: (s: string) => void };
    process.stderr.write(question);
    output._writeToOutput = () => undefined;
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}
