// The reconciler's commands, registered together so main.ts needs one import.
import type { CAC } from 'cac';
import * as plan from './plan.js';
import * as apply from './apply.js';
import * as status from './status.js';
import * as rollback from './rollback.js';
import * as destroy from './destroy.js';
import * as logs from './logs.js';
import * as uninstall from './uninstall.js';

export function register(cli: CAC): void {
  for (const m of [plan, apply, status, rollback, destroy, logs, uninstall]) m.register(cli);
}
