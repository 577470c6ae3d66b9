import { describe, expect, it } from 'vitest';
import {
  cellLanguage,
  findNeededNames,
  findNeededSecrets,
  notebookCodeCells,
  NotebookReadError,
} from '../../../src/core/neededSecrets';

const py = (source: string) => findNeededNames(source, 'python');
const r = (source: string) => findNeededNames(source, 'r');

describe('findNeededNames in Python', () => {
  it('finds names in single and double quotes, raw and byte-less prefixes', () => {
    expect(py(`a = get_secret('OPENAI_API_KEY')\nb = get_secret("DB_PASSWORD")`)).toEqual([
      'OPENAI_API_KEY',
      'DB_PASSWORD',
    ]);
    expect(py(`get_secret(r'RAW_NAME')`)).toEqual(['RAW_NAME']);
    expect(py(`get_secret("""TRIPLE""")`)).toEqual(['TRIPLE']);
  });

  it('finds get_secret_raw, get_secret_bytes, module calls and the name= keyword', () => {
    expect(
      py(
        [
          'import notebook_secrets',
          "key = notebook_secrets.get_secret('VIA_MODULE')",
          "data = get_secret_raw( 'KEY_FILE' , scope='team')",
          "pem = get_secret_bytes('SERVICE_ACCOUNT_JSON')",
          "x = get_secret(scope='project', name='BY_KEYWORD')",
          'y = get_secret(name = "SPACED")',
        ].join('\n'),
      ),
    ).toEqual(['VIA_MODULE', 'KEY_FILE', 'SERVICE_ACCOUNT_JSON', 'BY_KEYWORD', 'SPACED']);
  });

  it('ignores comments, other strings, definitions and names built at run time', () => {
    expect(
      py(
        [
          "# get_secret('IN_COMMENT')",
          "x = 1  # then get_secret('TRAILING_COMMENT')",
          `s = "get_secret('IN_STRING')"`,
          `doc = """\nget_secret('IN_DOCSTRING')\n"""`,
          'def get_secret(name):',
          '    return name',
          'get_secret(NAME_VARIABLE)',
          "get_secret(f'{prefix}_KEY')",
          "get_secret('PART_' + suffix)",
          "get_secret('not a name')",
          "get_secret('REAL')",
        ].join('\n'),
      ),
    ).toEqual(['REAL']);
  });

  it('lists a name once however often it is asked for', () => {
    expect(py(`get_secret('A')\nget_secret("A")\nget_secret_raw('A')`)).toEqual(['A']);
  });

  it('keeps going after escaped quotes and unterminated strings', () => {
    expect(py(`s = 'it\\'s'\nget_secret('AFTER_ESCAPE')\nt = 'open\nget_secret('NEXT')`)).toEqual([
      'AFTER_ESCAPE',
      'NEXT',
    ]);
  });
});

describe('findNeededNames in R', () => {
  it('finds get_secret("X"), get_secret_raw and name =', () => {
    expect(
      r(
        [
          'library(notebooksecrets)',
          'key <- get_secret("OPENAI_API_KEY")',
          "pem <- notebook_secrets::get_secret_raw('CERT')",
          'tok = get_secret(name = "BY_NAME")',
          'raw <- get_secret(r"(RAW_R)")',
        ].join('\n'),
      ),
    ).toEqual(['OPENAI_API_KEY', 'CERT', 'BY_NAME', 'RAW_R']);
  });

  it('ignores comments, strings and the function definition', () => {
    expect(
      r(
        [
          '# get_secret("COMMENTED")',
          'msg <- "get_secret(\\"QUOTED\\")"',
          'get_secret <- function(name) name',
          'get_secret(paste0("A", "B"))',
          'get_secret("KEPT")',
        ].join('\n'),
      ),
    ).toEqual(['KEPT']);
  });
});

describe('findNeededSecrets', () => {
  it('names the cells that need each secret', () => {
    expect(
      findNeededSecrets([
        { source: "get_secret('A')", language: 'python' },
        { source: 'print(1)', language: 'python' },
        { source: 'get_secret("B"); get_secret("A")', language: 'r' },
      ]),
    ).toEqual([
      { name: 'A', cells: [1, 3], forms: ['get_secret'] },
      { name: 'B', cells: [3], forms: ['get_secret'] },
    ]);
  });

  it('lists names read in other forms, and environment reads of key-like or known names', () => {
    const needs = findNeededSecrets(
      [
        {
          source: "from google.colab import userdata\nuserdata.get('HF_TOKEN')",
          language: 'python',
        },
        {
          source: "import os\nos.environ['OPENAI_API_KEY']\nos.getenv('HOME')\nos.getenv('DB_URL')",
          language: 'python',
        },
        { source: 'Sys.getenv("R_TOKEN")\nSys.getenv("R_HOME")', language: 'r' },
      ],
      { environmentCounts: (name) => name === 'DB_URL' },
    );
    expect(needs).toEqual([
      { name: 'HF_TOKEN', cells: [1], forms: ['colab'] },
      { name: 'OPENAI_API_KEY', cells: [2], forms: ['environment'] },
      { name: 'DB_URL', cells: [2], forms: ['environment'] },
      { name: 'R_TOKEN', cells: [3], forms: ['environment'] },
    ]);
  });

  it('does not count the shell variables PWD and OLDPWD, whose names end like a password', () => {
    expect(findNeededNames("os.environ['PWD']\nos.getenv('OLDPWD')", 'python')).toEqual([]);
  });
});

describe('notebookCodeCells', () => {
  it('reads code cells in the kernel language, skipping markdown', () => {
    const json = JSON.stringify({
      metadata: { kernelspec: { language: 'R', name: 'ir' } },
      cells: [
        { cell_type: 'markdown', source: ['get_secret("DOC")'] },
        { cell_type: 'code', source: ['x <- get_secret(', '"R_KEY")'] },
      ],
    });
    expect(notebookCodeCells(json)).toEqual([
      { source: 'x <- get_secret("R_KEY")', language: 'r', number: 2 },
    ]);
  });

  it('reads a notebook without metadata as Python, and one in another language as none', () => {
    const cells = [{ cell_type: 'code', source: "get_secret('A')" }];
    expect(notebookCodeCells(JSON.stringify({ cells }))[0]!.language).toBe('python');
    expect(
      notebookCodeCells(JSON.stringify({ cells, metadata: { language_info: { name: 'julia' } } })),
    ).toEqual([]);
  });

  it('refuses what is not a notebook, saying why', () => {
    expect(() => notebookCodeCells('{')).toThrow(NotebookReadError);
    expect(() => notebookCodeCells('{"cells": 3}')).toThrow(/not a notebook/);
  });

  it('maps kernel languages', () => {
    expect(cellLanguage('Python')).toBe('python');
    expect(cellLanguage('r')).toBe('r');
    expect(cellLanguage('julia')).toBeUndefined();
  });
});
