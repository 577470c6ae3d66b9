import { describe, expect, it } from 'vitest';
import {
  findPlatformBindings,
  findSecretReads,
  type PlatformBinding,
  type SecretRead,
} from '../../../src/core/secretReads';

/** The reads of one Python cell (or of the last of several), with the text each spans. */
function reads(...sources: string[]): (Omit<SecretRead, 'start' | 'end'> & { text: string })[] {
  const all = findSecretReads(sources.map((source) => ({ source, language: 'python' })));
  const source = sources[sources.length - 1]!;
  return all[all.length - 1]!.map(({ start, end, ...rest }) => ({
    ...rest,
    text: source.slice(start, end),
  }));
}

const names = (...sources: string[]) => reads(...sources).map((r) => `${r.form}:${r.name}`);

/** Each form, as the platforms' own docs write it. */
const FORMS: { form: string; name: string; cells: string[]; text: string; bytes?: boolean }[] = [
  {
    form: 'colab',
    name: 'HF_TOKEN',
    cells: ["from google.colab import userdata\nhf = userdata.get('HF_TOKEN')"],
    text: "userdata.get('HF_TOKEN')",
  },
  {
    form: 'kaggle',
    name: 'OPENAI_API_KEY',
    cells: [
      'from kaggle_secrets import UserSecretsClient\nuser_secrets = UserSecretsClient()',
      "key = user_secrets.get_secret('OPENAI_API_KEY')",
    ],
    text: "user_secrets.get_secret('OPENAI_API_KEY')",
  },
  {
    form: 'kaggle',
    name: 'WANDB_KEY',
    cells: [
      "from kaggle_secrets import UserSecretsClient\nk = UserSecretsClient().get_secret(label='WANDB_KEY')",
    ],
    text: "UserSecretsClient().get_secret(label='WANDB_KEY')",
  },
  {
    form: 'databricks',
    name: 'db_password',
    cells: ["pw = dbutils.secrets.get(scope='prod', key='db_password')"],
    text: "dbutils.secrets.get(scope='prod', key='db_password')",
  },
  {
    form: 'databricks',
    name: 'SERVICE_KEY',
    cells: ["raw = dbutils.secrets.getBytes('prod', 'SERVICE_KEY')"],
    text: "dbutils.secrets.getBytes('prod', 'SERVICE_KEY')",
    bytes: true,
  },
  {
    form: 'singlestore',
    name: 'OPENAI_API_KEY',
    cells: ["from singlestoredb.management import get_secret\nkey = get_secret('OPENAI_API_KEY')"],
    text: "get_secret('OPENAI_API_KEY')",
  },
  {
    form: 'hopsworks',
    name: 'OPENAI_KEY',
    cells: [
      "import hopsworks\nkey = hopsworks.login().get_secrets_api().get_secret('OPENAI_KEY').value",
    ],
    text: "hopsworks.login().get_secrets_api().get_secret('OPENAI_KEY').value",
  },
  {
    form: 'hopsworks',
    name: 'HF_TOKEN',
    cells: [
      'project = hopsworks.login()\nsecrets_api = project.get_secrets_api()',
      "token = secrets_api.get('HF_TOKEN')",
    ],
    text: "secrets_api.get('HF_TOKEN')",
  },
  {
    form: 'environment',
    name: 'OPENAI_API_KEY',
    cells: ["import os\nkey = os.environ['OPENAI_API_KEY']"],
    text: "os.environ['OPENAI_API_KEY']",
  },
  {
    form: 'environment',
    name: 'ANTHROPIC_API_KEY',
    cells: ["key = os.getenv('ANTHROPIC_API_KEY')"],
    text: "os.getenv('ANTHROPIC_API_KEY')",
  },
  {
    form: 'environment',
    name: 'AWS_SECRET_ACCESS_KEY',
    cells: ["from os import environ\nkey = environ.get('AWS_SECRET_ACCESS_KEY')"],
    text: "environ.get('AWS_SECRET_ACCESS_KEY')",
  },
  {
    form: 'get_secret',
    name: 'OWN_KEY',
    cells: ["from notebook_secrets import get_secret\nkey = get_secret('OWN_KEY')"],
    text: "get_secret('OWN_KEY')",
  },
];

describe('findSecretReads finds each form', () => {
  for (const f of FORMS) {
    it(`${f.form}: ${f.text}`, () => {
      const found = reads(...f.cells);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        form: f.form,
        name: f.name,
        text: f.text,
        bytes: f.bytes ?? false,
      });
    });
  }

  it('finds %env NAME (a read), not %env NAME=value (a write)', () => {
    expect(names('%env OPENAI_API_KEY\n%env OTHER_KEY=abc')).toEqual([
      'environment:OPENAI_API_KEY',
    ]);
  });

  it('knows names bound in an earlier cell and by an alias', () => {
    expect(
      names('from google.colab import userdata as ud, drive', "ud.get('A_TOKEN')\ndrive.get('X')"),
    ).toEqual(['colab:A_TOKEN']);
  });
});

describe('findSecretReads ignores', () => {
  for (const f of FORMS) {
    const setup = f.cells.slice(0, -1);
    const last = f.cells[f.cells.length - 1]!;
    const lines = last.split('\n');
    const call = lines.pop()!;
    const before = lines.join('\n');
    const variants = {
      'a comment': `# ${call}`,
      'a string': `s = ${JSON.stringify(call)}`,
      'a triple-quoted string': `s = """\n${call}\n"""`,
      'an f-string name': call.replace(`'${f.name}'`, `f'{prefix}_${f.name}'`),
    };
    for (const [where, text] of Object.entries(variants)) {
      it(`${f.form} in ${where}`, () => {
        const found = reads(...setup, `${before}\n${text}`);
        expect(found).toEqual([]);
      });
    }
  }

  it('writes and deletions of the environment', () => {
    expect(
      names("os.environ['A_KEY'] = 'x'\nos.environ['B_KEY'] += 'y'\ndel os.environ['C_KEY']"),
    ).toEqual([]);
  });

  it('a .get or .get_secret on something that is not a platform API', () => {
    expect(names("config.get('API_KEY')\nuserdata.get('NOT_IMPORTED')")).toEqual([]);
  });
});

describe('which reads get_secret can replace as they are', () => {
  const rewritable = (...sources: string[]) => reads(...sources).map((r) => r.rewritable);

  it('not a read with a default, whose value differs when the secret is missing', () => {
    expect(rewritable("os.getenv('A_KEY', 'none')\nos.environ.get('B_KEY')")).toEqual([
      false,
      true,
    ]);
  });

  it('not a Hopsworks secret object whose value is read later', () => {
    expect(
      rewritable(
        "api = project.get_secrets_api()\ns = api.get_secret('A_KEY')\nv = api.get_secret('B_KEY').value",
      ),
    ).toEqual([false, true]);
  });

  it('not our own calls, which need no rewrite', () => {
    expect(rewritable("get_secret('A_KEY')")).toEqual([false]);
  });
});

describe('findPlatformBindings', () => {
  it('finds the imports and assignments a rewrite can make unused, with what each binds', () => {
    const [first, second] = findPlatformBindings([
      {
        source:
          'import os\nfrom google.colab import (\n  drive,\n  userdata as ud,\n)\nfrom kaggle_secrets import UserSecretsClient',
        language: 'python',
      },
      {
        source: 'client = UserSecretsClient()\nimport hopsworks\napi = hopsworks.get_secrets_api()',
        language: 'python',
      },
    ]);
    const brief = (b: PlatformBinding) =>
      `${b.form} ${b.kind} ${b.names.map((n) => n.bound).join(',')}`;
    expect(first!.map(brief)).toEqual(['colab import drive,ud', 'kaggle import UserSecretsClient']);
    expect(second!.map(brief)).toEqual([
      'kaggle assignment client',
      'hopsworks import hopsworks',
      'hopsworks assignment api',
    ]);
  });
});
