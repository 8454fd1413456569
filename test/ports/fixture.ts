// Shared by the ports tests: a process sandbox that may run node and bind LISTEN.
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { BASE_YAML } from '../runtime/process-fixture.js';

const nodeDir = dirname(realpathSync(process.execPath));

/** A process sandbox that may run node and listens on LISTEN. */
export function listenYaml(name: string, listen: number[], extra = ''): string {
  return BASE_YAML(name, `    network:\n      listen: [${listen.join(', ')}]\n${extra}`).replace(
    'read_only: [/usr, /bin, /lib, /lib64]',
    `read_only: [/usr, /bin, /lib, /lib64, ${JSON.stringify(nodeDir)}]`,
  );
}
