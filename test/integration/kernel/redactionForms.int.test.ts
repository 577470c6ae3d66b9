/**
 * Forms of a served value that notebooks save, held to real kernels (ipykernel and IRkernel):
 * HTML-, XML- and LaTeX-escaped text, dict keys and list names at any depth, display and update
 * metadata, the execute_reply's payloads (the pager) and user_expressions, a slice of the value
 * and a value cut by line wraps. Each cell's IOPub messages and its execute_reply are scanned for
 * the value, for every run of 16 of its characters (also after undoing HTML and LaTeX escapes),
 * and for its encodings.
 */
import type { Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary, startKernelRig, type KernelRig } from './fixtures';
import { runCell, type CellResult } from './harness';
import { stringsOf, valueLeft } from './valueLeft';

// HTML, XML and LaTeX specials, and quotes of both kinds: every escaping differs from the value.
const VALUE = `pa&ss<w0rd>"q'_${canary('leak')}`;

/** What of the value is left in `messages` (JSON text): labels, never the value itself. */
function leaks(messages: string[]): string[] {
  const found = messages.flatMap((m) =>
    stringsOf(JSON.parse(m)).flatMap((s) => valueLeft(s, VALUE)),
  );
  return [...new Set(found)];
}

const everything = (r: CellResult) => [...r.iopub, r.reply];
const contents = (r: CellResult, type: string) =>
  r.iopub
    .map((m) => JSON.parse(m) as { header: { msg_type: string }; content: Record<string, unknown> })
    .filter((m) => m.header.msg_type === type)
    .map((m) => m.content);

/** The input_request messages of a cell that asks for input (answered with "ok"). */
async function prompts(kernel: Kernel.IKernelConnection, code: string): Promise<string[]> {
  const seen: string[] = [];
  const future = kernel.requestExecute({ code, allow_stdin: true, store_history: false });
  future.onStdin = (msg) => {
    seen.push(JSON.stringify(msg));
    kernel.sendInputReply({ status: 'ok', value: 'ok' }, msg.header as never);
  };
  const reply = await future.done;
  expect(reply.content.status).toBe('ok');
  return seen;
}

let rig: KernelRig;
let python: Kernel.IKernelConnection;
let r: Kernel.IKernelConnection;

beforeAll(async () => {
  rig = await startKernelRig();
  rig.fx.source.set('LEAK', VALUE);
  rig.fx.source.set(
    'LEAK_FILE',
    Buffer.from(`-----BEGIN KEY-----\n${canary('file')}${canary('body')}\n`).toString('base64'),
    'base64',
  );
  [{ kernel: python }, { kernel: r }] = await Promise.all([
    rig.startInjected('python3', 'file:///work/forms.ipynb'),
    rig.startInjected('ir', 'file:///work/forms-r.ipynb'),
  ]);
  const py = await runCell(
    python,
    "key = get_secret('LEAK')\nimport html, textwrap\nfrom IPython.display import display, HTML, JSON",
  );
  expect(py.error).toBeUndefined();
  const rr = await runCell(r, 'key <- get_secret("LEAK"); k <- as.character(key)');
  expect(rr.error).toBeUndefined();
}, 180_000);

afterAll(async () => {
  await rig?.stop();
});

describe('a Python kernel redacts every form a notebook saves', () => {
  const cases: [string, string][] = [
    [
      'html.escape in display(HTML) (what most _repr_html_ do)',
      "display(HTML('<td>' + html.escape(key) + '</td>'))",
    ],
    ['html.escape without quote escaping, in a stream', 'print(html.escape(key, quote=False))'],
    [
      'XML escapes: saxutils.escape and quoteattr',
      'from xml.sax.saxutils import escape, quoteattr\nprint(escape(key))\nprint(quoteattr(key))',
    ],
    [
      "markupsafe's numeric quotes (&#34; &#39;) and hex entities (&#x26; &#x3C;)",
      [
        "display(HTML(key.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('\"', '&#34;').replace(\"'\", '&#39;')))",
        "print(key.replace('&', '&#x26;').replace('<', '&#x3C;').replace('\"', '&quot;').replace(\"'\", '&#x27;'))",
      ].join('\n'),
    ],
    ['every character as a numeric entity', "print(''.join('&#%d;' % ord(c) for c in key))"],
    ['LaTeX escapes', "print(key.replace('&', r'\\&').replace('_', r'\\_'))"],
    ['a dict key in application/json', "display(JSON({key: 'conn'}))"],
    [
      'dict keys deep in a raw MIME bundle',
      "display({'application/json': {'a': [{'b': {key.strip(): 1}}]}, 'text/plain': 'x'}, raw=True)",
    ],
    ['display metadata', "display(HTML('<b>x</b>'), metadata={'note': key.strip()})"],
    [
      'update_display_data metadata',
      "h = display(HTML('<b>x</b>'), display_id=True)\nh.update(HTML('<b>y</b>'), metadata={'note': {'k': key.strip()}})",
    ],
    ["the pager payload of key? (execute_reply's payload)", 'key?'],
    ['a 20-character slice', 'print(key[:20])\nprint(key[-20:])'],
    ['a slice in a truncated table cell', "print('| ' + key[:30] + '... |')"],
  ];

  it.each(cases)('%s', async (_label, code) => {
    const result = await runCell(python, code);
    expect(result.error).toBeUndefined();
    expect(leaks(everything(result))).toEqual([]);
  });

  it('replaces the value in the place it stood: a JSON key, HTML text, metadata', async () => {
    const result = await runCell(
      python,
      "display(JSON({key: 'conn'}))\ndisplay(HTML('<td>' + html.escape(key) + '</td>'), metadata={'k': key.strip()})",
    );
    const [json, shown] = contents(result, 'display_data') as {
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
    }[];
    expect(json!.data['application/json']).toEqual({ '[secret LEAK]': 'conn' });
    expect(shown!.data['text/html']).toBe('<td>[secret LEAK]</td>');
    expect(shown!.metadata).toEqual({ k: '[secret LEAK]' });
  });

  it('a key cut by a line wrap is replaced whole, the short end included', async () => {
    const result = await runCell(
      python,
      'print(textwrap.fill(key, 20))\nprint(textwrap.fill(key, 24, initial_indent="  ", subsequent_indent="  "))',
    );
    expect(leaks(everything(result))).toEqual([]);
    expect(result.stdout).toBe('[secret LEAK]\n  [secret LEAK]\n');
  });

  it("a file secret's base64 wrapped at 76 characters (base64.encodebytes)", async () => {
    const result = await runCell(
      python,
      "import base64\nb = get_secret_bytes('LEAK_FILE')\nprint(base64.encodebytes(b).decode())",
    );
    expect(result.error).toBeUndefined();
    expect(result.stdout.trim()).toBe('[secret LEAK_FILE]');
  });

  it('user_expressions in the execute_reply', async () => {
    const result = await runCell(python, 'pass', {
      userExpressions: { whole: 'key.strip()', head: 'key[:24]', escaped: 'html.escape(key)' },
    });
    const reply = JSON.parse(result.reply) as {
      content: { user_expressions: Record<string, { status: string }> };
    };
    expect(Object.values(reply.content.user_expressions).map((e) => e.status)).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    expect(leaks(everything(result))).toEqual([]);
  });

  it('the prompt of input() and getpass()', async () => {
    const seen = await prompts(
      python,
      "import getpass\ninput('key ' + key.strip() + ': ')\ngetpass.getpass(html.escape(key) + ': ')",
    );
    expect(seen).toHaveLength(2);
    expect(leaks(seen)).toEqual([]);
  });

  it('the inspector (Shift+Tab, the contextual help panel)', async () => {
    const reply = await python.requestInspect({ code: 'key', cursor_pos: 3, detail_level: 0 });
    expect(reply.content.status).toBe('ok');
    expect(leaks([JSON.stringify(reply)])).toEqual([]);
  });
});

describe('an R kernel redacts every form a notebook saves', () => {
  const cases: [string, string][] = [
    [
      "repr's HTML escape in display_html",
      'IRdisplay::display_html(paste0("<td>", repr:::html_escape(k), "</td>"))',
    ],
    ['a data frame shown as HTML, Markdown and LaTeX', 'data.frame(k = k)'],
    [
      'every character as a numeric entity',
      'cat(paste0("&#", utf8ToInt(k), ";", collapse = ""), "\\n")',
    ],
    [
      'a list name in application/json',
      'IRdisplay::publish_mimebundle(list("application/json" = setNames(list("conn"), k)))',
    ],
    [
      'list names deep in a MIME bundle',
      'IRdisplay::publish_mimebundle(list("application/json" = list(a = list(list(b = setNames(list(1), k)))), "text/plain" = "x"))',
    ],
    [
      'display metadata',
      'IRdisplay::publish_mimebundle(list("text/plain" = "x"), metadata = list(note = k))',
    ],
    [
      "the pager (execute_reply's payload)",
      [
        'options(jupyter.pager_classes = "paged_note")',
        'repr_text.paged_note <- function(obj, ...) paste("String form:", obj$v)',
        'structure(list(v = k), class = "paged_note")',
      ].join('\n'),
    ],
    [
      'a 20-character slice',
      'cat(substr(k, 1, 20), "\\n")\ncat(substr(k, nchar(k) - 19, nchar(k)), "\\n")',
    ],
  ];

  it.each(cases)('%s', async (_label, code) => {
    const result = await runCell(r, code);
    expect(result.error).toBeUndefined();
    expect(leaks(everything(result))).toEqual([]);
  });

  it('replaces the value in the place it stood: a list name, HTML text, metadata', async () => {
    const result = await runCell(
      r,
      'IRdisplay::publish_mimebundle(list("application/json" = setNames(list("conn"), k), "text/html" = paste0("<td>", repr:::html_escape(k), "</td>")), metadata = list(k = k))',
    );
    const [shown] = contents(result, 'display_data') as {
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
    }[];
    expect(shown!.data['application/json']).toEqual({ '[secret LEAK]': 'conn' });
    expect(shown!.data['text/html']).toBe('<td>[secret LEAK]</td>');
    expect(shown!.metadata).toEqual({ k: '[secret LEAK]' });
  });

  it('the prompt of readline()', async () => {
    const seen = await prompts(r, 'invisible(readline(paste0("key ", k, ": ")))');
    expect(seen).toHaveLength(1);
    expect(leaks(seen)).toEqual([]);
  });

  it('a key cut by a line wrap is replaced whole, the short end included', async () => {
    const result = await runCell(
      r,
      'cat(substring(k, seq(1, nchar(k), 20), pmin(seq(20, nchar(k) + 19, 20), nchar(k))), sep = "\\n")',
    );
    expect(leaks(everything(result))).toEqual([]);
    expect(result.stdout).toBe('[secret LEAK]\n');
  });
});
