/** Opens a URL in the browser for `login`: $BROWSER, else the platform's opener. */
import { spawn } from 'node:child_process';

/** Resolves false when no browser can be opened here (no opener, or no display on Linux). */
export function openBrowser(url: string): Promise<boolean> {
  const command =
    process.env.BROWSER ||
    (process.platform === 'darwin'
      ? 'open'
      : process.platform === 'win32'
        ? 'explorer'
        : 'xdg-open');
  const headless =
    process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
  if (headless && !process.env.BROWSER) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
