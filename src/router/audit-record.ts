// One audit record per model call, OCSF-shaped like the gateway's egress records (API Activity,
// class 6003): who called, which provider and model were asked for and used, status, latency,
// time to first byte, tokens, and the fallbacks taken. Never a prompt, a response or a header value.
import { inferenceCall, type AuditEntry, type InferenceDetail, type InferenceRecord } from '../audit/record.js';

export type { InferenceDetail } from '../audit/record.js';
export type InferenceAuditRecord = Omit<InferenceRecord, 'time' | 'test_hooks'>;

export function inferenceRecord(o: {
  sandbox: string;
  policyVersion: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  dst?: { hostname: string; port: number };
  reason?: string;
  detail?: string;
  inference: InferenceDetail;
}): AuditEntry {
  return inferenceCall({
    action: o.inference.outcome === 'refused' ? 'denied' : 'allowed',
    sandbox: o.sandbox,
    ...(o.dst ? { dst: o.dst } : {}),
    http: { method: o.method, path: o.path, status: o.status },
    policy_version: o.policyVersion,
    ...(o.reason ? { reason: o.reason } : {}),
    ...(o.detail ? { detail: o.detail } : {}),
    duration_ms: o.durationMs,
    inference: o.inference,
  });
}

/** The inference records among audit lines (other records and malformed ones are skipped). */
export function asInferenceRecord(r: unknown): (InferenceAuditRecord & { time: number }) | undefined {
  if (typeof r !== 'object' || r === null) return undefined;
  const x = r as Record<string, unknown>;
  if (x.class_uid !== 6003 || typeof x.time !== 'number' || typeof x.sandbox !== 'string') return undefined;
  const i = x.inference as Record<string, unknown> | undefined;
  if (typeof i !== 'object' || i === null || typeof i.tokens_in !== 'number' || typeof i.tokens_out !== 'number') return undefined;
  return r as InferenceAuditRecord & { time: number };
}
