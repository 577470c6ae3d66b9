/**
 * A process that writes to the sealed files until it is killed: secrets W0, W1, … created in turn,
 * and LAST updated after each, through the local store. Reads the sealing key from stdin; prints
 * `ack <n>` once the n-th change has been acknowledged.
 */
import { LocalSecretStore } from '../../../src/core';
import { SEALING_KEY, SealedFileStore } from '../../../src/extension/storage/sealedFileStore';
import { MemoryKeyValueStore } from '../../../src/sync/memoryKeyValueStore';

async function main(root: string, start: number): Promise<void> {
  let key = '';
  for await (const chunk of process.stdin) key += String(chunk);
  const secrets = new MemoryKeyValueStore();
  await secrets.store(SEALING_KEY, key.trim());
  const local = new LocalSecretStore(new SealedFileStore(secrets, root));
  await local.load();
  for (let n = start; ; n++) {
    await local.create({ name: `W${n}`, value: `value-${n}`, scope: { kind: 'personal' } });
    const last = local.list().find((s) => s.name === 'LAST');
    if (last) await local.update(last.id, { value: `last-${n}` });
    else await local.create({ name: 'LAST', value: `last-${n}`, scope: { kind: 'personal' } });
    process.stdout.write(`ack ${n}\n`);
  }
}

void main(process.argv[2]!, Number(process.argv[3]));
