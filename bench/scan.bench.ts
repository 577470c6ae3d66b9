/**
 * `notebook-secrets scan` next to secretlint (its recommended preset, run on each file's raw
 * text as its CLI would) on the same generated corpus in the same run: recall on notebooks with
 * one planted key each (in a cell's source, with JSON-escaped quotes or split across source
 * lines, or in an output), false positives on notebooks holding images, hashes, UUIDs and base64
 * blobs, and MB/s. Targets: at least secretlint's recall on .ipynb, zero false positives, at
 * least its speed. Our scan runs the same preset's rules and
 * our own rules for what it lacks, on each cell's source and output rather than on the raw file.
 *
 * Also: the preset's rules on every cell text of the corpus, driven directly (src/core/
 * presetRules.ts, what the scan does) and through secretlint's `lintSource` (the alternative).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { lintSource } from '@secretlint/core';
import { creator as recommend } from '@secretlint/secretlint-rule-preset-recommend';
import { presetScan } from '../src/core/presetRules';
import { scanNotebook } from '../src/core/secretScan';
import { runBench, median } from './common';

const N = 300;
const ROUNDS = 5;
const alnum = (n: number) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join('');
};
const b32 = (n: number) =>
  [...randomBytes(n)].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');

/** Key formats both tools claim to cover. */
const KEYS: (() => string)[] = [
  () => `AKIA${b32(16)}`,
  () => `ghp_${alnum(36)}`,
  () => `sk-proj-${alnum(58)}T3BlbkFJ${alnum(58)}`,
  () => `xoxb-${String(Date.now()).slice(0, 12)}-${alnum(24)}`,
  () => `sk-ant-api03-${alnum(93)}AA`,
];

const nb = (cells: unknown[]) =>
  JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }, null, 1);
const filler = () => ({
  cell_type: 'code',
  source: ['import pandas as pd\n', 'df = pd.read_csv("data.csv")\n', 'df.describe()'],
  outputs: [{ output_type: 'stream', name: 'stdout', text: ['rows: 1000\n'] }],
});

function planted(i: number): string {
  const key = KEYS[i % KEYS.length]!();
  const where = i % 3;
  const cell =
    where === 0
      ? { cell_type: 'code', source: [`client = Client(api_key="${key}")\n`], outputs: [] }
      : where === 1
        ? {
            cell_type: 'code',
            source: ['headers = {\n', `    "Authorization": "Bearer ${key}",\n`, '}\n'],
            outputs: [],
          }
        : {
            cell_type: 'code',
            source: ['print(config)'],
            outputs: [{ output_type: 'stream', name: 'stdout', text: [`{'key': '${key}'}\n`] }],
          };
  return nb([filler(), cell, filler()]);
}

function negative(): string {
  return nb([
    {
      cell_type: 'code',
      source: [
        `run_id = "${randomUUID()}"\n`,
        `sha = "${randomBytes(32).toString('hex')}"\n`,
        `blob = "${randomBytes(1500).toString('base64')}"\n`,
        "api_key = get_secret('OPENAI_API_KEY')\n",
      ],
      outputs: [
        {
          output_type: 'display_data',
          data: { 'image/png': randomBytes(30_000).toString('base64'), 'text/plain': 'fig' },
        },
      ],
    },
    filler(),
  ]);
}

const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommend }] };

async function secretlintHits(text: string): Promise<number> {
  const result = await lintSource({
    source: { content: text, filePath: '/corpus/x.ipynb', contentType: 'text' },
    options: { config, maskSecrets: true },
  });
  return result.messages.length;
}

async function main(): Promise<void> {
  const positives = Array.from({ length: N }, (_, i) => planted(i));
  const negatives = Array.from({ length: N }, () => negative());
  const bytes = [...positives, ...negatives].reduce((n, t) => n + Buffer.byteLength(t), 0);

  let ours: number[] = [];
  let oursFalse: number[] = [];
  let theirs: number[] = [];
  let theirsFalse: number[] = [];
  const oursRounds: number[] = [];
  const theirsRounds: number[] = [];
  // Rounds of one tool then the other, the first a warm-up: the load of a shared machine weighs
  // on both alike, and the median of each is compared.
  for (let round = 0; round <= ROUNDS; round++) {
    const t0 = performance.now();
    ours = positives.map((t) => scanNotebook(t).length);
    oursFalse = negatives.map((t) => scanNotebook(t).length);
    const t1 = performance.now();
    theirs = [];
    for (const t of positives) theirs.push(await secretlintHits(t));
    theirsFalse = [];
    for (const t of negatives) theirsFalse.push(await secretlintHits(t));
    const t2 = performance.now();
    if (round === 0) continue;
    oursRounds.push(t1 - t0);
    theirsRounds.push(t2 - t1);
  }
  const oursMs = median(oursRounds);
  const theirsMs = median(theirsRounds);

  const recall = (hits: number[]) => hits.filter((n) => n > 0).length / hits.length;
  const fp = (hits: number[]) => hits.filter((n) => n > 0).length;
  const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
  console.log(
    `scan: ${N} notebooks with one planted key, ${N} without (${(bytes / 1e6).toFixed(1)} MB), median of ${ROUNDS} rounds`,
  );
  console.log(
    `  notebook-secrets scan   recall ${(recall(ours) * 100).toFixed(1)}%   notebooks with false positives ${fp(oursFalse)}   ${mbps(oursMs).toFixed(1)} MB/s`,
  );
  console.log(
    `  secretlint (recommend)  recall ${(recall(theirs) * 100).toFixed(1)}%   notebooks with false positives ${fp(theirsFalse)}   ${mbps(theirsMs).toFixed(1)} MB/s`,
  );
  console.log(
    `  speed ratio ours/secretlint ${(theirsMs / oursMs).toFixed(1)}   (targets: recall ≥ secretlint's, 0 false positives, ratio ≥ 1)`,
  );

  // The texts the scan hands the preset: each cell's source and each output's text.
  const texts = [...positives, ...negatives].flatMap((t) =>
    (
      JSON.parse(t) as { cells: { source: string[]; outputs: { text?: string[] }[] }[] }
    ).cells.flatMap((c) => [c.source.join(''), ...c.outputs.map((o) => (o.text ?? []).join(''))]),
  );
  const t2 = performance.now();
  for (const t of texts) presetScan(t);
  const directMs = performance.now() - t2;
  const t3 = performance.now();
  for (const t of texts) await secretlintHits(t);
  const lintSourceMs = performance.now() - t3;
  console.log(
    `  preset rules on ${texts.length} cell texts: direct ${directMs.toFixed(0)} ms, through lintSource ${lintSourceMs.toFixed(0)} ms   ratio ${(lintSourceMs / directMs).toFixed(1)}`,
  );
}

runBench(main);
