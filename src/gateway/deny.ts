// Denials an agent can act on: a 403 with a JSON body naming what was refused, why, and what to
// do next, plus an X-Nemoclaw-Deny header carrying the reason code for programs.
import type { DenyReason } from './matcher.js';

export interface Denial {
  sandbox: string;
  host: string;
  port: number;
  reason: DenyReason | 'resolve_failed' | 'upstream_failed' | 'audit_unavailable';
  detail: string;
  policy_version?: string;
  approval_id?: string;
}

export function statusFor(reason: Denial['reason']): number {
  if (reason === 'bad_request' || reason === 'ambiguous_path') return 400;
  if (reason === 'resolve_failed' || reason === 'upstream_failed') return 502;
  if (reason === 'connection_limit' || reason === 'audit_unavailable') return 503;
  return 403;
}

function nextSteps(d: Denial): string[] {
  const dest = `${d.host}:${d.port}`;
  switch (d.reason) {
    case 'no_rule':
    case 'port_not_allowed':
      return d.approval_id
        ? [
            `An operator can allow this: nemoclaw approvals approve ${d.approval_id} --ttl 1h (or --persist to add it to nemoclaw.yaml).`,
            'Retry the request after approval; do not try other routes around the gateway.',
          ]
        : [`Ask the operator to add ${dest} to sandboxes.${d.sandbox}.network.egress in nemoclaw.yaml and apply.`];
    case 'protocol_mismatch':
    case 'method_not_allowed':
    case 'path_not_allowed':
      return ['Use a request the rule allows, or ask the operator to widen the rule in nemoclaw.yaml.'];
    case 'ssrf_blocked':
      return [
        'The destination resolves to an internal address. Internal ranges need allowed_ips in nemoclaw.yaml; loopback, link-local and metadata addresses are never reachable.',
      ];
    case 'ip_literal':
      return ['Use the host name: rules allow names, never bare IP addresses.'];
    case 'approval_denied':
      return ['An operator refused this destination. Do not retry it.'];
    case 'connection_limit':
      return ['Too many open connections from this sandbox: close idle ones and retry later.'];
    case 'resolve_failed':
    case 'upstream_failed':
      return ['The destination is allowed but could not be reached; retry later.'];
    case 'audit_unavailable':
      return ['The gateway cannot record requests right now (its audit log cannot be written), so it opens none. Retry later.'];
    default:
      return ['Send an HTTP/1.1 proxy request: CONNECT host:port, or an absolute-form http:// URL.'];
  }
}

export function denialBody(d: Denial): string {
  return (
    JSON.stringify({
      error: d.reason === 'resolve_failed' || d.reason === 'upstream_failed' ? 'egress_failed' : 'egress_denied',
      sandbox: d.sandbox,
      host: d.host,
      port: d.port,
      reason: d.reason,
      message: d.detail,
      ...(d.policy_version ? { policy_version: d.policy_version } : {}),
      ...(d.approval_id ? { approval_id: d.approval_id } : {}),
      next_steps: nextSteps(d),
    }) + '\n'
  );
}

/** A complete HTTP/1.1 response (for raw sockets: CONNECT, cap, malformed input). */
export function rawDenial(d: Denial): Buffer {
  const body = denialBody(d);
  const status = statusFor(d.reason);
  const text = { 400: 'Bad Request', 403: 'Forbidden', 502: 'Bad Gateway', 503: 'Service Unavailable' }[status] ?? 'Error';
  return Buffer.from(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\nx-nemoclaw-deny: ${d.reason}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
