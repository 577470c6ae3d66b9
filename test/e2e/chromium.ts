/** The browser the end-to-end suite and the benchmarks drive: Debian's Chromium, headless. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Without the background-networking flags, Chromium keeps opening connections that a closed
 * network refuses; as root it needs --no-sandbox.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
