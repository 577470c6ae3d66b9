/**
 * What the helper's kernel hooks (other platforms' calls, the notebook's environment; see
 * python/notebook_secrets.py) cost a cell in a real kernel, measured inside the kernel with
 * IPython's run_cell, with the hooks and then with them taken out (the baseline). Cells: a
 * one-liner and a 2,000-line cell in a notebook that chose nothing (the transformer walks every
 * cell's syntax tree), a one-liner in a notebook with a name in its environment (checked with
 * the broker before every cell), and a Colab cell served unchanged next to the same read through
 * get_secret. Target: ≤ 1.1 for cells of a notebook that chose nothing.
 */
import type { Kernel } from '@jupyterlab/services';
import { startKernelRig } from '../test/integration/kernel/fixtures';
import { runCell } from '../test/integration/kernel/harness';
import { BENCH_VALUE, runBench } from './common';

const RUNS = 201;
const ONE_LINER = 'x = 1';
const LONG = Array.from({ length: 2000 }, (_, i) => `v${i} = ${i} + 1`).join('\n');
const COLAB = "from google.colab import userdata\nk = userdata.get('API_KEY')";
const OWN = "k = get_secret('API_KEY')";

/**
 * Median milliseconds of each cell of `cells` run through IPython's own run_cell inside the kernel
 * (so the websocket's latency, far larger than the hooks, does not drown them), with the hooks,
 * and of the cell of `without` in its place with the hooks taken out, the two in turn.
 */
function measure(cells: string[], without: string[]): string {
  return [
    'import json, statistics, time',
    '_shell = get_ipython()',
    '_mark = lambda t: getattr(t, "_notebook_secrets_hook", False)',
    '_hooked = (list(_shell.ast_transformers), list(_shell.input_transformers_post), list(_shell.events.callbacks["pre_run_cell"]))',
    '_bare = tuple([t for t in hooks if not _mark(t)] for hooks in _hooked)',
    'def _use(lists):',
    '    _shell.ast_transformers[:] = lists[0]',
    '    _shell.input_transformers_post[:] = lists[1]',
    '    _shell.events.callbacks["pre_run_cell"][:] = lists[2]',
    'def _time(code):',
    '    start = time.perf_counter()',
    '    result = _shell.run_cell(code, store_history=False)',
    '    if not result.success: raise RuntimeError(repr(result.error_in_exec))',
    '    return (time.perf_counter() - start) * 1000',
    '_out = [[], []]',
    `for _code, _base in zip(${JSON.stringify(cells)}, ${JSON.stringify(without)}):`,
    '    _times = ([], [])',
    `    for _ in range(${RUNS}):`,
    '        _use(_hooked)',
    '        _times[0].append(_time(_code))',
    '        _use(_bare)',
    '        _times[1].append(_time(_base))',
    '    _use(_hooked)',
    '    _out[0].append(statistics.median(_times[0]))',
    '    _out[1].append(statistics.median(_times[1]))',
    'print(json.dumps(_out))',
  ].join('\n');
}

async function main(): Promise<void> {
  const rig = await startKernelRig();
  rig.fx.source.set('API_KEY', BENCH_VALUE);
  rig.fx.choices.set('file:///bench-served.ipynb', {
    servePlatformCalls: true,
    environment: ['API_KEY'],
  });
  try {
    const [{ kernel: plain }, { kernel: served }] = await Promise.all([
      rig.startInjected('python3', 'file:///bench-plain.ipynb'),
      rig.startInjected('python3', 'file:///bench-served.ipynb'),
    ]);
    // The figures mean something only if the hooks work in the kernel measured.
    const check = await runCell(
      served,
      `${COLAB}\nimport os\nprint('API_KEY' in os.environ, k == os.environ['API_KEY'])`,
    );
    if (check.stdout.trim() !== 'True True') throw new Error(`hooks not working: ${check.stderr}`);
    const run = async (kernel: Kernel.IKernelConnection, cells: string[], without: string[]) => {
      const r = await runCell(kernel, measure(cells, without));
      if (r.error) throw new Error(`${r.error.ename}: ${r.error.evalue}`);
      return JSON.parse(r.stdout) as [number[], number[]];
    };
    const [plainWith, plainWithout] = await run(plain, [ONE_LINER, LONG], [ONE_LINER, LONG]);
    const [servedWith, servedWithout] = await run(served, [ONE_LINER, COLAB], [ONE_LINER, OWN]);
    const figures: [string, number, number][] = [
      ['one-line cell', plainWith[0]!, plainWithout[0]!],
      ['2,000-line cell', plainWith[1]!, plainWithout[1]!],
      ['one-line cell, a name in the environment', servedWith[0]!, servedWithout[0]!],
      ['Colab cell served / the same by get_secret', servedWith[1]!, servedWithout[1]!],
    ];
    console.log(
      `kernel hooks: IPython run_cell in the kernel, with the hooks / without (median of ${RUNS})`,
    );
    for (const [label, ms, base] of figures) {
      console.log(
        `  ${label.padEnd(44)} ${ms.toFixed(3).padStart(8)} ms  vs ${base.toFixed(3).padStart(8)} ms   ratio ${(ms / base).toFixed(2)}`,
      );
    }
    console.log('  target: ratio ≤ 1.1 without platform calls or environment');
  } finally {
    await rig.stop();
  }
}

runBench(main);
