// One audit record per model call, OCSF-shaped like the gateway's egress records (API Activity,
// class 6003): who called, which provider and model were asked for and used, status, latency,
// time to first byte, tokens, and the fallbacks taken. Never a prompt, a response or a header value.
import type { Api } from './route.js';

export interface InferenceDetail {
  api: Api;
  provider: string | null;
  model_requested: string | null;
  model: string | null;
  stream: boolean;
  ttft_ms: number | null;
  tokens_in: number;
  tokens_out: number;
  /** Providers tried before the one that answered (connection error or 5xx before the first byte). */
  fallback: string[];
  outcome: 'ok' | 'refused' | 'upstream_error' | 'client_closed';
}

export type InferenceAuditRecord = {
  class_uid: 6003;
  class_name: 'API Activity';
  activity: 'request';
  action: 'allowed' | 'denied';
  sandbox: string;
  dst?: { hostname: string; port: number };
  http: { method: string; path: string; status: number };
  policy_version: string;
  reason?: string;
  detail?: string;
  duration_ms: number;
  inference: InferenceDetail;
};

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
}): InferenceAuditRecord {
  return {
    class_uid: 6003,
    class_name: 'API Activity',
    activity: 'request',
    action: o.inference.outcome === 'refused' ? 'denied' : 'allowed',
    sandbox: o.sandbox,
    ...(o.dst ? { dst: o.dst } : {}),
    http: { method: o.method, path: o.path, status: o.status },
    policy_version: o.policyVersion,
    ...(o.reason ? { reason: o.reason } : {}),
    ...(o.detail ? { detail: o.detail } : {}),
    duration_ms: o.durationMs,
    inference: o.inference,
  };
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
