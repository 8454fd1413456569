// Every command of the CLI and the module that registers it (src/cli/commands/<name>.ts). A table
// of loaders, so that importing it loads no command; scripts/bundle.mjs reads its keys to build one
// bundle per command.
import type { CommandTable } from './cli-runner.js';

export const COMMANDS: CommandTable = {
  init: () => import('./commands/init.js'),
  validate: () => import('./commands/validate.js'),
  lint: () => import('./commands/lint.js'),
  compile: () => import('./commands/compile.js'),
  explain: () => import('./commands/explain.js'),
  run: () => import('./commands/run.js'),
  doctor: () => import('./commands/doctor.js'),
  gateway: () => import('./commands/gateway.js'),
  audit: () => import('./commands/audit.js'),
  approvals: () => import('./commands/approvals.js'),
  plan: () => import('./commands/plan.js'),
  apply: () => import('./commands/apply.js'),
  status: () => import('./commands/status.js'),
  rollback: () => import('./commands/rollback.js'),
  destroy: () => import('./commands/destroy.js'),
  logs: () => import('./commands/logs.js'),
  connect: () => import('./commands/connect.js'),
  uninstall: () => import('./commands/uninstall.js'),
  diff: () => import('./commands/diff.js'),
  sign: () => import('./commands/sign.js'),
  verify: () => import('./commands/verify.js'),
  inference: () => import('./commands/inference.js'),
  reconcile: () => import('./commands/reconcile.js'),
  service: () => import('./commands/service.js'),
  hooks: () => import('./commands/hooks.js'),
  image: () => import('./commands/image.js'),
};
