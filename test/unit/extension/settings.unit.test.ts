import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../../src/extension/settings';

describe('settings', () => {
  it('names each setting package.json contributes, with the same default', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { default: unknown }> } };
    };
    const contributed = Object.fromEntries(
      Object.entries(manifest.contributes.configuration.properties).map(([key, spec]) => [
        key.replace(/^notebookSecrets\./, ''),
        spec.default,
      ]),
    );
    expect(SETTINGS).toEqual(contributed);
  });
});
