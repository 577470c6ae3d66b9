/** Index entries for tests of the sync decisions: every field set, personal by default. */
import type { IndexEntry } from '../../src/core/indexEntry';

export function testEntry(id: string, name: string, fields: Partial<IndexEntry> = {}): IndexEntry {
  return {
    id,
    name,
    scope: { kind: 'personal' },
    encoding: 'text',
    type: 'generic',
    description: '',
    version: 1,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    created_by: 'ada',
    access: [],
    ...fields,
  };
}
