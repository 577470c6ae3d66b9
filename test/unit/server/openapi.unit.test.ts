import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_VERSION } from '../../../src/server/app';
import { openApiDocument } from '../../../src/server/openapi';

// The document as the server sends it (compact JSON), before and after a change to how it is
// generated. Key order counts: the snapshot is compared as the text the server would send.
const snapshot = JSON.parse(
  readFileSync(new URL('./snapshots/openapi.json', import.meta.url), 'utf8'),
) as unknown;

describe('the OpenAPI document', () => {
  it('is the committed snapshot, byte for byte as served', () => {
    expect(JSON.stringify(openApiDocument(SERVER_VERSION))).toBe(JSON.stringify(snapshot));
  });
});
