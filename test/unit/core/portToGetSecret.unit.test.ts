import { describe, expect, it } from 'vitest';
import {
  portableReads,
  portEdits,
  type CellEdit,
  type PortableRead,
} from '../../../src/core/portToGetSecret';
import type { CellSource } from '../../../src/core/secretReads';

const python = (...sources: string[]): CellSource[] =>
  sources.map((source) => ({ source, language: 'python' }));

function apply(cells: CellSource[], edits: CellEdit[]): string[] {
  return cells.map((cell, index) =>
    edits
      .filter((e) => e.cell === index)
      .sort((a, b) => b.start - a.start)
      .reduce((text, e) => text.slice(0, e.start) + e.text + text.slice(e.end), cell.source),
  );
}

/** Ports every read (`pick` narrows it to some). */
function port(cells: CellSource[], pick: (r: PortableRead) => boolean = () => true): string[] {
  return apply(cells, portEdits(cells, portableReads(cells).filter(pick)));
}

describe('portEdits rewrites each form to get_secret', () => {
  it('Colab: the import becomes ours', () => {
    expect(
      port(python("from google.colab import userdata\nhf = userdata.get('HF_TOKEN')\nprint(1)")),
    ).toEqual(["from notebook_secrets import get_secret\nhf = get_secret('HF_TOKEN')\nprint(1)"]);
  });

  it('Colab: another name of the import stays', () => {
    expect(
      port(python("from google.colab import drive, userdata\nk = userdata.get('A_KEY')")),
    ).toEqual([
      "from google.colab import drive\nfrom notebook_secrets import get_secret\nk = get_secret('A_KEY')",
    ]);
  });

  it('Kaggle: the client and its import go when nothing else uses them', () => {
    expect(
      port(
        python(
          'from kaggle_secrets import UserSecretsClient\nuser_secrets = UserSecretsClient()',
          "a = user_secrets.get_secret('A_KEY')\nb = UserSecretsClient().get_secret('B_KEY')",
        ),
      ),
    ).toEqual([
      'from notebook_secrets import get_secret\n',
      "a = get_secret('A_KEY')\nb = get_secret('B_KEY')",
    ]);
  });

  it('Databricks: get and getBytes, with both imports added once at the top of the cell', () => {
    expect(
      port(
        python(
          '# Read the keys\nimport json\na = dbutils.secrets.get(scope="s", key="A_KEY")\nb = dbutils.secrets.getBytes("s", "B_KEY")',
        ),
      ),
    ).toEqual([
      "# Read the keys\nfrom notebook_secrets import get_secret, get_secret_bytes\nimport json\na = get_secret('A_KEY')\nb = get_secret_bytes('B_KEY')",
    ]);
  });

  it('SingleStore: only the import changes, so every call is ported with the one chosen', () => {
    const cells = python(
      'from singlestoredb.management import get_secret',
      "a = get_secret('A_KEY')\nb = get_secret('B_KEY')",
    );
    expect(port(cells, (r) => r.read.name === 'A_KEY')).toEqual([
      'from notebook_secrets import get_secret',
      "a = get_secret('A_KEY')\nb = get_secret('B_KEY')",
    ]);
  });

  it('Hopsworks: the chain and the API variable; the login stays', () => {
    expect(
      port(
        python(
          "import hopsworks\nproject = hopsworks.login()\nsecrets_api = project.get_secrets_api()\nk = secrets_api.get('A_KEY')\nv = secrets_api.get_secret('B_KEY').value",
        ),
      ),
    ).toEqual([
      "from notebook_secrets import get_secret\nimport hopsworks\nproject = hopsworks.login()\nk = get_secret('A_KEY')\nv = get_secret('B_KEY')",
    ]);
  });

  it('Hopsworks: an import used for nothing else goes with the chain', () => {
    expect(
      port(
        python(
          "import hopsworks\nkey = hopsworks.login().get_secrets_api().get_secret('A_KEY').value",
        ),
      ),
    ).toEqual(["from notebook_secrets import get_secret\nkey = get_secret('A_KEY')"]);
  });

  it('the environment: reads without a default', () => {
    expect(
      port(
        python(
          "import os\nk = os.environ['A_KEY']\nj = os.getenv('B_KEY')\nd = os.getenv('C_KEY', '')",
        ),
      ),
    ).toEqual([
      "from notebook_secrets import get_secret\nimport os\nk = get_secret('A_KEY')\nj = get_secret('B_KEY')\nd = os.getenv('C_KEY', '')",
    ]);
  });
});

describe('portEdits, one read at a time', () => {
  it('keeps the import while another read still uses it, and adds ours once', () => {
    const cells = python(
      'from google.colab import userdata',
      "a = userdata.get('A_KEY')\nb = userdata.get('B_KEY')",
    );
    const first = port(cells, (r) => r.read.name === 'A_KEY');
    expect(first).toEqual([
      'from google.colab import userdata',
      "from notebook_secrets import get_secret\na = get_secret('A_KEY')\nb = userdata.get('B_KEY')",
    ]);
    const second = port(python(...first));
    expect(second).toEqual([
      '',
      "from notebook_secrets import get_secret\na = get_secret('A_KEY')\nb = get_secret('B_KEY')",
    ]);
  });

  it('leaves a notebook without platform reads alone', () => {
    expect(portEdits(python("get_secret('A_KEY')"), [])).toEqual([]);
    expect(portableReads(python("get_secret('A_KEY')\nos.getenv('HOME', '')"))).toEqual([]);
  });
});
