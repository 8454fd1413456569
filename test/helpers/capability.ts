// Capability gates for tests that need the real kernel or a real Docker engine.
// Locally a missing capability skips with a reason; in CI (CI=true) it fails instead,
// because CI installs and starts everything and no enforcement test may skip there.
import type { TestContext } from 'node:test';

export function requireCapability(t: TestContext, ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (process.env.CI === 'true' || process.env.NEMOCLAW_NO_SKIP === '1') {
    throw new Error(`required capability missing in CI: ${reason}`);
  }
  t.skip(reason);
  return false;
}
