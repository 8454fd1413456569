// `nemoclaw inference usage`: the router's audit records summed per sandbox, provider and model.
// Pure: records in, rows out.
import type { InferenceAuditRecord } from './audit-record.js';

export interface UsageRow {
  sandbox: string;
  provider: string;
  model: string;
  requests: number;
  errors: number;
  refused: number;
  tokens_in: number;
  tokens_out: number;
  latency_ms_p50: number | null;
  ttft_ms_p50: number | null;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarizeUsage(records: InferenceAuditRecord[]): UsageRow[] {
  const groups = new Map<string, { row: UsageRow; lat: number[]; ttft: number[] }>();
  for (const r of records) {
    const provider = r.inference.provider ?? '-';
    const model = r.inference.model ?? r.inference.model_requested ?? '-';
    const key = JSON.stringify([r.sandbox, provider, model]);
    let g = groups.get(key);
    if (!g) {
      g = {
        row: {
          sandbox: r.sandbox,
          provider,
          model,
          requests: 0,
          errors: 0,
          refused: 0,
          tokens_in: 0,
          tokens_out: 0,
          latency_ms_p50: null,
          ttft_ms_p50: null,
        },
        lat: [],
        ttft: [],
      };
      groups.set(key, g);
    }
    g.row.requests++;
    if (r.inference.outcome === 'refused') g.row.refused++;
    else if (r.inference.outcome !== 'ok' || r.http.status >= 400) g.row.errors++;
    g.row.tokens_in += r.inference.tokens_in;
    g.row.tokens_out += r.inference.tokens_out;
    if (r.inference.outcome !== 'refused') g.lat.push(r.duration_ms);
    if (r.inference.ttft_ms !== null) g.ttft.push(r.inference.ttft_ms);
  }
  return [...groups.values()]
    .map((g) => ({ ...g.row, latency_ms_p50: median(g.lat), ttft_ms_p50: median(g.ttft) }))
    .sort((a, b) => a.sandbox.localeCompare(b.sandbox) || a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
}
