/**
 * The R helper's JSON and base64 readers (jsonlite underneath), without a kernel: Rscript
 * evaluates r/notebook_secrets.R and reads what the broker and in-band clients send. A value must
 * come out as the client meant it, whatever its escapes; anything that is not JSON or base64 is an
 * error, never other text or bytes.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..', '..');

/** Runs `body` in R with the helper in `e`, one input a line on stdin; returns its output lines. */
function runR(body: string[], inputs: string[]): string[] {
  const code = [
    `sys.source(${JSON.stringify(join(ROOT, 'r', 'notebook_secrets.R'))}, envir = (e <- new.env()))`,
    'hex <- function(x) paste(as.character(charToRaw(enc2utf8(x))), collapse = "")',
    'inputs <- readLines(file("stdin"), encoding = "UTF-8", warn = FALSE)',
    'for (input in inputs) {',
    ...body,
    '}',
  ].join('\n');
  const run = spawnSync('Rscript', ['-e', code], {
    input: inputs.map((i) => `${i}\n`).join(''),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.split('\n').slice(0, inputs.length);
}

/** JSON as Python's json.dumps writes it by default: every non-ASCII code unit as \uXXXX. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** What the value is in R: lone surrogates as U+FFFD (UTF-8 cannot hold them), no U+0000. */
function expectedHex(value: string): string {
  const wellFormed = value.replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    '\ufffd',
  );
  return Buffer.from(wellFormed.replace(/\0/g, ''), 'utf8').toString('hex');
}

const PIECES = [
  'a',
  'é',
  '🔑',
  '"',
  '\\',
  '\\u',
  '\\\\ud800',
  '/',
  '\n',
  '\t',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u2028',
  '\0',
  '\ud800',
  '\udc00',
  '\ud83d',
  '\ude00',
  'u00e9',
];

function generatedValues(count: number): string[] {
  let s = 7;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
  return Array.from({ length: count }, () =>
    Array.from(
      { length: Math.floor(next() * 12) },
      () => PIECES[Math.floor(next() * PIECES.length)],
    ).join(''),
  );
}

describe("the R helper's JSON reader", () => {
  it('reads every value as sent, escaped as JSON.stringify or json.dumps writes it', () => {
    const values = [...generatedValues(400), '', 'plain', '\ud83d\ude00', 'x\ud800', '\udc00y'];
    const texts = values.flatMap((v) => [
      JSON.stringify({ value: v, encoding: 'text' }),
      asciiJson({ value: v, encoding: 'text' }),
    ]);
    const out = runR(
      [
        '  a <- e$.json_parse(input)',
        '  cat(hex(a$value), Encoding(a$value) %in% c("UTF-8", "unknown"), a$encoding, "\\n")',
      ],
      texts,
    );
    expect(out).toEqual(values.flatMap((v) => Array(2).fill(`${expectedHex(v)} TRUE text `)));
  });

  it('reads the shapes of errors and in-band replies', () => {
    const out = runR(
      [
        '  a <- e$.json_parse(input)',
        '  r <- a$notebook_secrets_reply',
        '  cat(a$error$code, a$error$message, r$id, isTRUE(r$ack), is.null(r$value), "\\n")',
      ],
      [
        '{"error":{"code":"not_found","message":"No secret named \\"A\\"."}}',
        '{"notebook_secrets_reply":{"id":"abc","ack":true}}',
        '{"notebook_secrets_reply":{"id":"abc","value":null,"error":null}}',
      ],
    );
    expect(out).toEqual([
      'not_found No secret named "A". FALSE TRUE ',
      // cat() writes its separator after an absent (NULL) field too
      ' abc TRUE TRUE ',
      ' abc FALSE TRUE ',
    ]);
  });

  it('refuses what is not one JSON document, and never reads a file or URL it names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-rjson-'));
    const file = join(dir, 'answer.json');
    writeFileSync(file, '{"value":"from-a-file","encoding":"text"}');
    const out = runR(
      ['  cat(tryCatch(class(e$.json_parse(input)), error = function(err) "error"), "\\n")'],
      [
        '{"value":"a"',
        '{"value":"a"} x',
        '',
        'not json',
        '{"value":"\\x"}',
        file,
        'https://example.invalid/answer.json',
        '{"value":"a"}',
      ],
    );
    expect(out).toEqual([...Array(7).fill('error '), 'list ']);
  });
});

describe('an R kernel without jsonlite', () => {
  it('get_secret says to install it, before asking anyone', () => {
    // Only R's own library on the search path: Debian installs jsonlite into the site library.
    const out = runR(
      [
        '  assign(".lib.loc", .Library, envir = environment(.libPaths))',
        '  tryCatch(e$get_secret(input), error = function(err) cat(class(err)[1], conditionMessage(err), "\\n"))',
      ],
      ['API_KEY'],
    );
    expect(out[0]).toMatch(
      /^SecretsUnavailableError get_secret in R needs the jsonlite package .*install\.packages\("jsonlite"\)/,
    );
  });
});

describe("the R helper's base64", () => {
  const sizes = [0, 1, 2, 3, 4, 56, 57, 58, 1000, 48 * 1024];
  const blobs = sizes.map((n) => randomBytes(n));

  it('decodes what the broker encodes, with or without line breaks', () => {
    // A line on stdin each: '~' stands for a line break (CR LF) inside the text.
    const texts = blobs.flatMap((b) => {
      const t = b.toString('base64');
      return [t, t.replace(/.{76}/g, '$&~')];
    });
    const out = runR(
      [
        '  text <- gsub("~", "\\r\\n", input, fixed = TRUE)',
        '  cat(paste(as.character(e$.base64_decode(text)), collapse = ""), "\\n")',
      ],
      texts,
    );
    expect(out).toEqual(blobs.flatMap((b) => Array(2).fill(`${b.toString('hex')} `)));
  });

  it('encodes bytes as one line, as the redaction forms need', () => {
    const out = runR(
      [
        '  at <- seq_len(nchar(input) %/% 2L) * 2L',
        '  bytes <- if (length(at)) as.raw(strtoi(substring(input, at - 1L, at), 16L)) else raw(0)',
        '  cat(e$.base64_encode(bytes), "\\n")',
      ],
      blobs.map((b) => b.toString('hex')),
    );
    expect(out).toEqual(blobs.map((b) => `${b.toString('base64')} `));
  });

  it('refuses text that is not base64 instead of reading bytes out of it', () => {
    const bad = [
      'a===',
      '====',
      'Zg==Zg==',
      'ab=c',
      'Zg',
      'Zm9vYg=',
      'a!b=',
      'Zm9v Yg==',
      'Zm9v\tYg==',
    ];
    const out = runR(
      [
        '  cat(tryCatch(paste(as.character(e$.base64_decode(input)), collapse = ""),',
        '    error = function(err) conditionMessage(err)), "\\n")',
      ],
      [...bad, 'Zm9vYg=='],
    );
    expect(out).toEqual([...Array(bad.length).fill('not base64 '), '666f6f62 ']);
  });
});
