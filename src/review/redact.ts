// Env values never leave a review: a diff may say that `API_URL` changed, never what it holds.
// One entry point so the project-wide redaction module can replace this at merge.
import type { BlueprintFile } from '../state/types.js';

export const REDACTED = '<redacted>';

/**
 * An artifact's text with every env value replaced. A value that differs from `other`'s (the
 * same file on the other side of the diff) is marked, so the diff still shows which changed.
 */
export function redactArtifact(file: BlueprintFile, text: string, other?: string): string {
  if (file !== 'sandbox.json') return text;
  const env = envOf(text);
  if (!env) return text;
  const otherEnv = other === undefined ? undefined : envOf(other);
  const value = JSON.parse(text) as { env: Record<string, string> };
  value.env = Object.fromEntries(
    Object.keys(env).map((k) => [k, otherEnv && k in otherEnv && otherEnv[k] !== env[k] ? `${REDACTED} (changed)` : REDACTED]),
  );
  return JSON.stringify(value);
}

function envOf(text: string): Record<string, string> | undefined {
  try {
    const v = JSON.parse(text) as { env?: unknown };
    return v.env && typeof v.env === 'object' ? (v.env as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}
