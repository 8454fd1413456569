// The embedded (`runtime: process`) driver: what the CLI and the reconciler use.
export { startSandbox, INIT_REFUSED, type RunningSandbox, type StartOptions, type ExitStatus } from './start.js';
export { probeHost, type HostFacts, type KernelProbe, type CgroupFacts } from './host.js';
export { preflight, type Preflight, type Refusal } from './preflight.js';
export { formatSummary, type EnforcementReport } from '../../init-protocol/report.js';
export { buildInitSpec, agentEnv } from '../../init-protocol/spec.js';
export { sandboxPaths } from '../../state/sandbox-layout.js';
