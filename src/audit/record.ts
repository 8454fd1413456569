// What the audit log holds: one closed union of record kinds, each built by a small function so a
// call site cannot misspell a field or mix a kind's class with another's activity. Field names
// follow OCSF (Network Activity 4001, HTTP Activity 4002, API Activity 6003) where one exists.
// Never recorded: header values, query strings, bodies, credentials.
//
// Below the gateway, the inference router and the daemon (which compose it), so each can write
// records of its own. A new kind is one interface, one member of AuditRecord and one builder.

/** Where a request went: the name asked for and, once connected, the address. */
export interface AuditDestination {
  hostname: string;
  port: number;
  ip?: string;
}

/** Method and path only (no query string: it can carry secrets). */
export interface AuditHttp {
  method: string;
  path: string;
  status?: number;
}

interface NetworkActivity {
  class_uid: 4001;
  class_name: 'Network Activity';
}
interface HttpActivity {
  class_uid: 4002;
  class_name: 'HTTP Activity';
}
interface ApiActivity {
  class_uid: 6003;
  class_name: 'API Activity';
}

/** Stamped by the writer. */
interface Stamp {
  /** Milliseconds since the epoch. */
  time: number;
  /** Test-only relaxations the gateway ran with (see gateway/ssrf.ts), on every record when set. */
  test_hooks?: string[];
}

/** Byte counts and duration of a finished flow. */
export interface FlowTotals {
  bytes_out: number;
  bytes_in: number;
  duration_ms: number;
}

/** A CONNECT tunnel ended. */
export interface TunnelClosedRecord extends Stamp, NetworkActivity, FlowTotals {
  activity: 'close';
  action: 'allowed';
  sandbox: string;
  dst: AuditDestination;
  rule: string;
  policy_version: string;
  /** Who carried the bytes at the end: Node or nemoclaw-pump. */
  relay: 'node' | 'pump';
  /** Why the gateway closed it (policy reload, grant expiry, shutdown); absent when a side hung up. */
  reason?: string;
}

/** A connection from the host into the sandbox, through a published port (`ports:`), ended. */
export interface InboundClosedRecord extends Stamp, NetworkActivity, FlowTotals {
  activity: 'inbound';
  action: 'allowed';
  sandbox: string;
  /** The host address the connection came in on, "127.0.0.1:18789". */
  host: string;
  /** The sandbox loopback port it was relayed to. */
  sandbox_port: number;
  /** The client, "address:port". */
  peer: string;
  /** Why it ended early: the sandbox had nothing listening, or the relay failed. */
  error?: string;
}

/** A plain-HTTP request (or a WebSocket upgrade) ended. */
export interface HttpRequestRecord extends Stamp, HttpActivity, FlowTotals {
  activity: 'request';
  action: 'allowed';
  sandbox: string;
  dst: AuditDestination;
  http: AuditHttp;
  rule: string;
  policy_version: string;
  upgrade?: 'websocket';
  relay?: 'node' | 'pump';
  reason?: string;
}

/** The gateway refused a connection or a request. */
export type DenyRecord = Stamp &
  (NetworkActivity | HttpActivity) & {
    activity: 'deny';
    action: 'denied';
    sandbox: string;
    /** Absent when nothing was asked for yet (connection cap). */
    dst?: AuditDestination;
    http?: AuditHttp;
    /** A reason code (gateway/deny.ts). */
    reason: string;
    detail: string;
    policy_version?: string;
    approval_id?: string;
    /**
     * Set on an aggregated record (audit/aggregate.ts): this many further denials with the same
     * sandbox, destination and reason, between first_seen and last_seen (ms since the epoch), after
     * the first one was written on its own. The record's http/detail are those of the first repeat.
     */
    count?: number;
    first_seen?: number;
    last_seen?: number;
  };

export type ApprovalEvent = 'queued' | 'approved' | 'approved_persist' | 'denied' | 'expired';

/** Something happened to an approval request. */
export interface ApprovalRecord extends Stamp, ApiActivity {
  activity: 'approval';
  action: 'info';
  sandbox: string;
  dst: AuditDestination;
  approval_id: string;
  actor: { user: string };
  detail: ApprovalEvent;
  reason?: string;
  /** When a grant lapses, in milliseconds since the epoch. */
  expires_at?: number;
}

/** A sandbox's policy was registered, reloaded or removed, or a policy was refused. */
export interface PolicyRecord extends Stamp, ApiActivity {
  activity: 'register' | 'reload' | 'unregister';
  action: 'info' | 'denied';
  sandbox?: string;
  policy_version?: string;
  detail?: string;
}

/**
 * The daemon started, stopped, survived an internal error, or could write its audit log again
 * after it could not (`recover`; the detail says for how long and how many records were lost).
 */
export interface LifecycleRecord extends Stamp, ApiActivity {
  activity: 'start' | 'stop' | 'error' | 'recover';
  action: 'info';
  detail: string;
}

/** What the inference router records of one model call (never a prompt, response or header value). */
export interface InferenceDetail {
  /** Unique per call; the call's entry in inference-capture.jsonl carries the same id. */
  call_id: string;
  api: 'openai' | 'anthropic';
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

/** One model call through the inference router. */
export interface InferenceRecord extends Stamp, ApiActivity {
  activity: 'request';
  action: 'allowed' | 'denied';
  sandbox: string;
  dst?: AuditDestination;
  http: { method: string; path: string; status: number };
  policy_version: string;
  reason?: string;
  detail?: string;
  duration_ms: number;
  inference: InferenceDetail;
}

/**
 * A sandbox went over its audit budget (audit/aggregate.ts): `count` of its records between
 * first_seen and last_seen were counted here instead of written one by one.
 */
export interface SuppressedRecord extends Stamp, ApiActivity {
  activity: 'suppress';
  action: 'info';
  sandbox: string;
  count: number;
  first_seen: number;
  last_seen: number;
  detail: string;
}

/**
 * A sandbox started WITHOUT a mechanism its policy asks for, because it says best_effort and the
 * host lacks the means (e.g. the disk limit without loop devices): `not_enforced` names each one.
 */
export interface DegradedRecord extends Stamp, ApiActivity {
  activity: 'degraded';
  action: 'info';
  sandbox: string;
  not_enforced: string[];
  detail: string;
}

export type AuditRecord =
  | DegradedRecord
  | TunnelClosedRecord
  | InboundClosedRecord
  | HttpRequestRecord
  | DenyRecord
  | ApprovalRecord
  | PolicyRecord
  | LifecycleRecord
  | SuppressedRecord
  | InferenceRecord;

/** A record as a builder returns it: the writer adds the stamp. */
export type AuditEntry = AuditRecord extends infer R ? (R extends Stamp ? Omit<R, keyof Stamp> : never) : never;

/** Optional fields are left out rather than written as null/undefined. */
function present(o: AuditEntry): AuditEntry {
  const fields = o as Record<string, unknown>;
  for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k];
  return o;
}

type Fields<R> = Omit<R, keyof Stamp | 'class_uid' | 'class_name' | 'activity' | 'action'>;

export function tunnelClosed(f: Fields<TunnelClosedRecord>): AuditEntry {
  return present({ class_uid: 4001, class_name: 'Network Activity', activity: 'close', action: 'allowed', ...f });
}

export function inboundClosed(f: Fields<InboundClosedRecord>): AuditEntry {
  return present({ class_uid: 4001, class_name: 'Network Activity', activity: 'inbound', action: 'allowed', ...f });
}

export function httpRequest(f: Fields<HttpRequestRecord>): AuditEntry {
  return present({ class_uid: 4002, class_name: 'HTTP Activity', activity: 'request', action: 'allowed', ...f });
}

/** A refusal: of a tunnel or connection (`network`) or of a plain-HTTP request (`http`). */
export function denied(kind: 'network' | 'http', f: Fields<DenyRecord>): AuditEntry {
  const cls =
    kind === 'http'
      ? ({ class_uid: 4002, class_name: 'HTTP Activity' } as const)
      : ({ class_uid: 4001, class_name: 'Network Activity' } as const);
  return present({ ...cls, activity: 'deny', action: 'denied', ...f });
}

export function approval(f: Fields<ApprovalRecord>): AuditEntry {
  return present({ class_uid: 6003, class_name: 'API Activity', activity: 'approval', action: 'info', ...f });
}

export function policyRegistered(sandbox: string, policy_version: string): AuditEntry {
  return { class_uid: 6003, class_name: 'API Activity', activity: 'register', action: 'info', sandbox, policy_version };
}

export function policyReloaded(sandbox: string, policy_version: string, detail: string): AuditEntry {
  return { class_uid: 6003, class_name: 'API Activity', activity: 'reload', action: 'info', sandbox, policy_version, detail };
}

/** A policy the gateway would not load (e.g. a saved one that no longer parses after an upgrade). */
export function policyRefused(detail: string): AuditEntry {
  return { class_uid: 6003, class_name: 'API Activity', activity: 'register', action: 'denied', detail };
}

export function policyUnregistered(sandbox: string): AuditEntry {
  return { class_uid: 6003, class_name: 'API Activity', activity: 'unregister', action: 'info', sandbox };
}

export function lifecycle(activity: LifecycleRecord['activity'], detail: string): AuditEntry {
  return { class_uid: 6003, class_name: 'API Activity', activity, action: 'info', detail };
}

/** A model call; `action` says whether the router served or refused it. */
export function inferenceCall(f: Omit<InferenceRecord, keyof Stamp | 'class_uid' | 'class_name' | 'activity'>): AuditEntry {
  return present({ class_uid: 6003, class_name: 'API Activity', activity: 'request', ...f });
}

export function degraded(sandbox: string, not_enforced: string[]): AuditEntry {
  return {
    class_uid: 6003,
    class_name: 'API Activity',
    activity: 'degraded',
    action: 'info',
    sandbox,
    not_enforced,
    detail: `started without (best_effort): ${not_enforced.join('; ')}`,
  };
}

export function suppressed(f: Fields<SuppressedRecord>): AuditEntry {
  return { class_uid: 6003, class_name: 'API Activity', activity: 'suppress', action: 'info', ...f };
}
