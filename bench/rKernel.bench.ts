/**
 * get_secret round trips from a real R kernel (IRkernel) over the broker's loopback TCP listener,
 * next to a bare loopback HTTP echo called the same way (base R socketConnection, one kept-alive
 * connection, status line and headers with readLines, the body with readBin) from the same
 * kernel. Prints p50, p99, calls/s and the ratio broker/bare. Target: ratio ≤ 2.
 */
import type { Kernel } from '@jupyterlab/services';
import { startKernelRig } from '../test/integration/kernel/fixtures';
import { runCell } from '../test/integration/kernel/harness';
import { runBench, BENCH_VALUE, type CallFigures, formatCalls, startEcho } from './common';

const N = 2000;
const VALUE = BENCH_VALUE;

type Figures = CallFigures;

// The two clients alternate call by call, so that the load of a shared machine weighs on both alike.
const MEASURE = `
.measure <- function(fns, n) {
  for (i in seq_len(min(200L, n))) for (fn in fns) fn()
  ts <- matrix(0, n, length(fns))
  spent <- numeric(length(fns))
  for (i in seq_len(n)) {
    for (k in seq_along(fns)) {
      a <- as.numeric(Sys.time()); fns[[k]](); ts[i, k] <- as.numeric(Sys.time()) - a
    }
  }
  figures <- lapply(seq_along(fns), function(k) {
    t <- sort(ts[, k])
    sprintf('{"p50": %f, "p99": %f, "rate": %f}', t[n %/% 2L + 1L] * 1e6, t[floor(n * 0.99) + 1L] * 1e6, n / sum(t))
  })
  cat("[", paste(figures, collapse = ","), "]\\n", sep = "")
}
`;

/** The bare client: the same base R calls the helper makes, without the broker or the helper. */
function bareClient(port: number): string {
  return `
.bare_con <- socketConnection(host = "127.0.0.1", port = ${port}, blocking = TRUE, open = "r+b", timeout = 30)
.bare <- function() {
  body <- charToRaw('{"name":"BENCH"}')
  head <- paste0("POST /v1/secret HTTP/1.1\\r\\nHost: 127.0.0.1:${port}\\r\\nAuthorization: Bearer x\\r\\n",
    "Content-Type: application/json\\r\\nContent-Length: ", length(body), "\\r\\nConnection: keep-alive\\r\\n\\r\\n")
  writeBin(c(charToRaw(head), body), .bare_con)
  flush(.bare_con)
  readLines(.bare_con, n = 1L, warn = FALSE)
  size <- 0L
  repeat {
    line <- sub("\\r$", "", readLines(.bare_con, n = 1L, warn = FALSE))
    if (!nzchar(line)) break
    if (startsWith(tolower(line), "content-length:")) size <- as.integer(trimws(substring(line, 16L)))
  }
  rawToChar(readBin(.bare_con, "raw", n = size))
}
`;
}

async function measure(kernel: Kernel.IKernelConnection, setup: string, fns: string[]) {
  const r = await runCell(kernel, `${MEASURE}\n${setup}\n.measure(list(${fns.join(', ')}), ${N})`);
  if (r.error) throw new Error(`${r.error.ename}: ${r.error.evalue}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Figures[];
}

const fmt = formatCalls;

async function main(): Promise<void> {
  const [rig, echo] = await Promise.all([startKernelRig(), startEcho(VALUE)]);
  rig.fx.source.set('BENCH', VALUE);
  try {
    const { kernel } = await rig.startInjected('ir', 'file:///bench-r.ipynb');

    const [bare, broker] = (await measure(kernel, bareClient(echo.port), [
      '.bare',
      'function() get_secret("BENCH")',
    ])) as [Figures, Figures];
    // The same, one client after the other (more sensitive to the machine's load at the time).
    const [bareAlone] = (await measure(kernel, '', ['.bare'])) as [Figures];
    const [brokerAlone] = (await measure(kernel, '', ['function() get_secret("BENCH")'])) as [
      Figures,
    ];
    console.log(`R kernel → get_secret round trips (${N} sequential calls, alternating clients)`);
    console.log(`  bare HTTP echo, 127.0.0.1, keep-alive  ${fmt(bare)}`);
    console.log(`  broker, 127.0.0.1                      ${fmt(broker)}`);
    console.log(
      `  ratio broker/bare (p50): ${(broker.p50 / bare.p50).toFixed(2)}   (target ≤ 2); calls/s bare/broker ${(bare.rate / broker.rate).toFixed(2)}`,
    );
    console.log(`  one client after the other:`);
    console.log(`  bare HTTP echo                         ${fmt(bareAlone)}`);
    console.log(`  broker                                 ${fmt(brokerAlone)}`);
    console.log(`  ratio broker/bare (p50): ${(brokerAlone.p50 / bareAlone.p50).toFixed(2)}`);
  } finally {
    echo.close();
    await rig.stop();
  }
}

runBench(main);
