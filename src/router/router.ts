// The inference router: serves the model calls the gateway hands it (see
// src/gateway/inference-hook.ts). Per call: limits, the sandbox's routing policy, the provider's
// credential in place of the caller's, the response streamed back chunk by chunk as it arrives,
// usage metered from the provider's own counts, one audit record.
import { randomUUID } from 'node:crypto';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { InferenceRoute } from '../compiler/artifacts.js';
import type { AuditEntry } from '../audit/record.js';
import { inferenceRecord, asInferenceRecord, type InferenceDetail } from './audit-record.js';
import { BodyTap, CaptureLog } from './capture.js';
import { credentialStore, type CredentialError } from './credentials.js';
import { sendError, type RouterError } from './errors.js';
import { downstreamHeaders, upstreamHeaders, wantsAnthropic } from './headers.js';
import { admit, addTokens, finish, newMeter, utcDay, type SandboxMeter } from './limits.js';
import { allowedModels, checkRoute, choose, endpointOf, type Api, type Attempt } from './route.js';
import { closeAgents, exchange } from './upstream.js';
import { redactText, streamRedactor } from './redact.js';
import { jsonMeter, sseMeter } from './usage.js';

/** What the gateway passes with each call (the same shape as its InferenceCall). */
export interface RouterCall {
  sandbox: string;
  policyVersion: string;
  route: InferenceRoute;
}

export interface RouterOptions {
  /** Where records go (the daemon injects the gateway's audit log). */
  audit(rec: AuditEntry): void;
  /** Where env: credentials are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  connectTimeoutMs?: number;
  /** Largest request body accepted (prompts with images can be large). Default 32 MiB. */
  maxBodyBytes?: number;
  /** Where inference-capture.jsonl goes (the gateway's directory); without it nothing is captured. */
  captureDir?: string;
  /** Rotation of the capture file; defaults as for the audit log. */
  captureMaxBytes?: number;
  captureKeep?: number;
}

export interface RouterStatus {
  sandbox: string;
  active: number;
  tokens_today: number;
}

export interface Router {
  check(route: InferenceRoute): void;
  handle(call: RouterCall, req: IncomingMessage, res: ServerResponse): void;
  /** Count today's tokens from earlier audit records, so a restart does not reset the budget. */
  seed(records: unknown[]): void;
  status(): RouterStatus[];
  close(): void;
}

export function createRouter(o: RouterOptions): Router {
  const creds = credentialStore(o.env);
  const meters = new Map<string, SandboxMeter>();
  const meterOf = (sandbox: string) => {
    let m = meters.get(sandbox);
    if (!m) meters.set(sandbox, (m = newMeter(Date.now())));
    return m;
  };
  const capture =
    o.captureDir === undefined ? undefined : new CaptureLog({ dir: o.captureDir, maxBytes: o.captureMaxBytes, keep: o.captureKeep });
  const opts = { connectTimeoutMs: o.connectTimeoutMs ?? 10_000, maxBodyBytes: o.maxBodyBytes ?? 32 * 2 ** 20, capture };
  return {
    check: checkRoute,
    handle(call, req, res) {
      void serve(call, req, res, { ...opts, creds, meter: meterOf(call.sandbox), audit: o.audit }).catch(() => res.destroy());
    },
    seed(records) {
      const today = utcDay(Date.now());
      for (const r of records) {
        const x = asInferenceRecord(r);
        if (x && utcDay(x.time) === today) addTokens(meterOf(x.sandbox), x.inference.tokens_in + x.inference.tokens_out, x.time);
      }
    },
    status() {
      return [...meters.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([sandbox, m]) => ({ sandbox, active: m.active, tokens_today: m.day === utcDay(Date.now()) ? m.tokens : 0 }));
    },
    close() {
      closeAgents();
      capture?.close();
    },
  };
}

interface ServeContext {
  connectTimeoutMs: number;
  maxBodyBytes: number;
  creds: ReturnType<typeof credentialStore>;
  meter: SandboxMeter;
  capture: CaptureLog | undefined;
  audit(rec: AuditEntry): void;
}

function pathOf(url: string): string {
  const p = url.startsWith('/') ? url : new URL(url).pathname;
  return p.split(/[?#]/, 1)[0]!;
}

async function serve(call: RouterCall, req: IncomingMessage, res: ServerResponse, ctx: ServeContext): Promise<void> {
  const t0 = performance.now();
  const { sandbox, policyVersion, route } = call;
  const method = req.method ?? 'GET';
  let path: string;
  try {
    path = pathOf(req.url ?? '/');
  } catch {
    path = '';
  }
  const ep = endpointOf(method, path, wantsAnthropic(req.headers));
  const detail: InferenceDetail = {
    call_id: randomUUID(),
    api: ep?.api ?? 'openai',
    provider: null,
    model_requested: null,
    model: null,
    stream: false,
    ttft_ms: null,
    tokens_in: 0,
    tokens_out: 0,
    fallback: [],
    outcome: 'refused',
  };
  let admitted = false;
  const record = (status: number, extra: { reason?: string; detail?: string; dst?: { hostname: string; port: number } } = {}) => {
    if (admitted) finish(ctx.meter, detail.tokens_in + detail.tokens_out, Date.now());
    admitted = false;
    ctx.audit(
      inferenceRecord({
        sandbox,
        policyVersion,
        method,
        path: path.slice(0, 256),
        status,
        durationMs: Math.round(performance.now() - t0),
        inference: detail,
        ...extra,
      }),
    );
  };
  const refuse = (e: Omit<RouterError, 'sandbox' | 'policy_version'>) => {
    const status = sendError(res, { ...e, sandbox, policy_version: policyVersion });
    req.resume();
    record(status, { reason: e.reason, detail: e.detail });
  };

  if (!ep) return refuse({ reason: 'unknown_endpoint', detail: `${method} ${path.slice(0, 256)} is not a model API the router serves` });
  if (ep.local) return listModels(res, req, route, ep.api);

  const hit = admit(ctx.meter, route.limits, Date.now());
  if (hit) return refuse({ reason: hit.reason, detail: hit.detail, retryAfterS: hit.retryAfterS });
  admitted = true;
  const body = await readBody(req, ctx.maxBodyBytes);
  if (body === 'closed') {
    detail.outcome = 'client_closed';
    return record(499);
  }
  if (body === 'too_large') return refuse({ reason: 'bad_request', detail: `request body over ${ctx.maxBodyBytes} bytes` });
  let json: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    json = v as Record<string, unknown>;
  } catch {
    return refuse({ reason: 'bad_request', detail: 'the request body must be a JSON object' });
  }
  if (json.model !== undefined && typeof json.model !== 'string')
    return refuse({ reason: 'bad_request', detail: 'model must be a string' });
  const asked = json.model as string | undefined;
  detail.model_requested = asked?.slice(0, 256) ?? null;
  detail.stream = json.stream === true;

  const choice = choose(route, ep.api, asked);
  if (!choice.ok) return refuse({ reason: choice.reason, detail: choice.detail, model: asked ?? '', allowed: choice.allowed });

  // Try the chosen provider, then the fallbacks, until one answers below 500 (or the last answers).
  let lastError: { reason: 'upstream_failed' | 'credential_unavailable'; detail: string } = {
    reason: 'upstream_failed',
    detail: 'no provider answered',
  };
  for (let i = 0; i < choice.attempts.length; i++) {
    if (res.destroyed) break;
    const a = choice.attempts[i]!;
    const last = i === choice.attempts.length - 1;
    let key: string | null;
    try {
      key = ctx.creds.resolve(a.p.credential);
    } catch (e) {
      lastError = { reason: 'credential_unavailable', detail: `provider ${a.provider}: ${(e as CredentialError).message}` };
      detail.fallback.push(a.provider);
      continue;
    }
    const out = attemptBody(json, a, ep.path, detail.stream);
    const current: { req?: ClientRequest } = {};
    const abort = () => current.req?.destroy();
    res.once('close', abort);
    let upRes: IncomingMessage;
    try {
      upRes = await exchange(
        {
          p: a.p,
          localOnly: route.local_only,
          path: ep.path,
          method,
          headers: upstreamHeaders(req.rawHeaders, ep.api, key),
          body: out,
          connectTimeoutMs: ctx.connectTimeoutMs,
        },
        current,
      );
    } catch (e) {
      res.off('close', abort);
      lastError = { reason: 'upstream_failed', detail: `provider ${a.provider}: ${safeMessage(e)}` };
      detail.fallback.push(a.provider);
      continue;
    }
    const status = upRes.statusCode ?? 502;
    if (status >= 500 && !last) {
      res.off('close', abort);
      upRes.resume();
      detail.fallback.push(a.provider);
      continue;
    }
    detail.provider = a.provider;
    detail.model = a.model;
    const capture =
      route.capture === 'full' && ctx.capture
        ? (response: string, truncated: boolean) =>
            ctx.capture!.write({
              call_id: detail.call_id,
              sandbox,
              provider: a.provider,
              model: a.model,
              status,
              stream: detail.stream,
              request: redactText(body.toString('utf8'), key),
              response,
              ...(truncated ? { truncated } : {}),
            })
        : undefined;
    return relay(upRes, res, { a, status, key, detail, t0, record, capture, captureMax: ctx.maxBodyBytes });
  }
  if (res.destroyed) {
    detail.outcome = 'client_closed';
    record(499);
    return;
  }
  return refuse(lastError);
}

interface RelayContext {
  a: Attempt;
  status: number;
  /** The credential sent: masked wherever the provider's answer echoes it. */
  key: string | null;
  detail: InferenceDetail;
  t0: number;
  record: (status: number, extra?: { reason?: string; dst?: { hostname: string; port: number } }) => void;
  /** Set when the sandbox captures: called with the response as the agent got it. */
  capture: ((response: string, truncated: boolean) => void) | undefined;
  captureMax: number;
}

/** Stream the provider's answer to the agent as it arrives; mask the key, meter usage on the way. */
function relay(upRes: IncomingMessage, res: ServerResponse, c: RelayContext): void {
  const { detail } = c;
  const dst = destinationOf(c.a.p.endpoint);
  const sse = /^text\/event-stream/i.test(String(upRes.headers['content-type'] ?? ''));
  const meter = sse ? sseMeter() : jsonMeter();
  const redactor = streamRedactor(c.key);
  const tap = c.capture ? new BodyTap(c.captureMax) : undefined;
  res.writeHead(c.status, upRes.statusMessage, downstreamHeaders(upRes.rawHeaders, c.key));
  const forward = (out: Buffer) => {
    if (out.length === 0) return;
    meter.feed(out);
    tap?.add(out);
    if (!res.write(out)) {
      upRes.pause();
      res.once('drain', () => upRes.resume());
    }
  };
  let ended = false;
  upRes.on('data', (chunk: Buffer) => {
    if (detail.ttft_ms === null) detail.ttft_ms = Math.round((performance.now() - c.t0) * 1000) / 1000;
    forward(redactor.push(chunk));
  });
  upRes.once('end', () => {
    ended = true;
    forward(redactor.flush());
    res.end();
  });
  let upstreamFailed = false;
  const fail = () => {
    upstreamFailed = true;
    res.destroy();
  };
  upRes.once('error', fail);
  upRes.once('aborted', fail);
  res.once('close', () => {
    detail.outcome = ended && res.writableFinished ? 'ok' : upstreamFailed ? 'upstream_error' : 'client_closed';
    if (!ended) upRes.destroy(); // the agent went away: stop the provider's generation too
    const t = meter.tokens();
    detail.tokens_in = t.input;
    detail.tokens_out = t.output;
    c.record(c.status, { dst });
    if (tap) c.capture!(tap.text(), tap.truncated);
  });
}

const destinations = new Map<string, { hostname: string; port: number }>();
/** Host and port of a provider endpoint, for the audit record (parsed once per endpoint). */
function destinationOf(endpoint: string): { hostname: string; port: number } {
  let d = destinations.get(endpoint);
  if (!d) {
    const url = new URL(endpoint);
    d = { hostname: url.hostname, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
    if (destinations.size > 1024) destinations.clear();
    destinations.set(endpoint, d);
  }
  return d;
}

/** The body for one provider: its real model, and (OpenAI streams) usage asked for in the final chunk. */
function attemptBody(json: Record<string, unknown>, a: Attempt, path: string, stream: boolean): Buffer {
  const out: Record<string, unknown> = { ...json, model: a.model };
  if (stream && a.p.api === 'openai' && (path === '/v1/chat/completions' || path === '/v1/completions')) {
    const so = typeof json.stream_options === 'object' && json.stream_options !== null ? json.stream_options : {};
    out.stream_options = { ...so, include_usage: true };
  }
  return Buffer.from(JSON.stringify(out));
}

function listModels(res: ServerResponse, req: IncomingMessage, route: InferenceRoute, api: Api): void {
  req.resume();
  const ids = allowedModels(route, api).filter((m) => choose(route, api, m).ok);
  const body =
    api === 'anthropic'
      ? {
          data: ids.map((id) => ({ type: 'model', id, display_name: id, created_at: '1970-01-01T00:00:00Z' })),
          has_more: false,
          first_id: ids[0] ?? null,
          last_id: ids[ids.length - 1] ?? null,
        }
      : { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'nemoclaw' })) };
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too_large' | 'closed'> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        resolve('too_large');
      } else parts.push(c);
    });
    req.once('end', () => {
      if (!done) resolve(Buffer.concat(parts));
      done = true;
    });
    req.once('close', () => {
      if (!done) resolve('closed');
      done = true;
    });
  });
}

/** Connection errors by code only: a message could in theory echo request data. */
function safeMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOTLOCAL') return (e as Error).message;
  return code ? `connection failed (${code})` : 'connection failed';
}
