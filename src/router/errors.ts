// The router's refusals, in the same JSON shape as the gateway's egress denials (error, sandbox,
// reason, message, policy_version, next_steps) plus what the policy allows, and the same
// X-Nemoclaw-Deny header. Never carries a credential or a prompt.
import type { ServerResponse } from 'node:http';

export type RouterReason =
  | 'model_not_allowed'
  | 'provider_not_local'
  | 'api_mismatch'
  | 'unknown_endpoint'
  | 'bad_request'
  | 'rate_limited'
  | 'concurrency_limited'
  | 'budget_exhausted'
  | 'credential_unavailable'
  | 'upstream_failed';

export interface RouterError {
  sandbox: string;
  reason: RouterReason;
  detail: string;
  policy_version?: string;
  model?: string;
  allowed?: string[];
  retryAfterS?: number;
}

export function statusOf(reason: RouterReason): number {
  switch (reason) {
    case 'model_not_allowed':
    case 'provider_not_local':
      return 403;
    case 'unknown_endpoint':
      return 404;
    case 'bad_request':
    case 'api_mismatch':
      return 400;
    case 'rate_limited':
    case 'concurrency_limited':
    case 'budget_exhausted':
      return 429;
    default:
      return 502;
  }
}

function nextSteps(e: RouterError): string[] {
  switch (e.reason) {
    case 'model_not_allowed':
      return [
        `Ask for one of the allowed models: ${e.allowed?.join(', ') || '(none)'}.`,
        `Or ask the operator to add the model to sandboxes.${e.sandbox}.inference.models (an alias) in nemoclaw.yaml and apply.`,
      ];
    case 'provider_not_local':
      return ['This sandbox may only use local model servers (local_only); ask for a model a local provider serves.'];
    case 'api_mismatch':
      return ['Call the model through the API its provider speaks (OpenAI: /v1/chat/completions; Anthropic: /v1/messages).'];
    case 'unknown_endpoint':
      return [
        'The router serves POST /v1/chat/completions, /v1/completions, /v1/responses, /v1/embeddings, /v1/messages and GET /v1/models.',
      ];
    case 'rate_limited':
    case 'concurrency_limited':
      return [`Retry after ${e.retryAfterS ?? 1} s; do not open more parallel calls.`];
    case 'budget_exhausted':
      return ["This sandbox's token budget for today (UTC) is spent; ask the operator to raise inference.limits.tokens_per_day."];
    case 'credential_unavailable':
      return ["The router cannot read the provider's credential; tell the operator (nemoclaw audit shows the reference)."];
    case 'upstream_failed':
      return ['The model provider could not be reached; retry later.'];
    default:
      return ['Send a JSON body to an endpoint the router serves.'];
  }
}

export function errorBody(e: RouterError): string {
  return (
    JSON.stringify({
      error: e.reason === 'upstream_failed' || e.reason === 'credential_unavailable' ? 'inference_failed' : 'inference_denied',
      sandbox: e.sandbox,
      reason: e.reason,
      message: e.detail,
      ...(e.model !== undefined ? { model: e.model } : {}),
      ...(e.allowed ? { allowed_models: e.allowed } : {}),
      ...(e.policy_version ? { policy_version: e.policy_version } : {}),
      next_steps: nextSteps(e),
    }) + '\n'
  );
}

export function sendError(res: ServerResponse, e: RouterError): number {
  const status = statusOf(e.reason);
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const body = errorBody(e);
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-nemoclaw-deny': e.reason,
    'content-length': Buffer.byteLength(body),
    ...(e.retryAfterS !== undefined ? { 'retry-after': String(e.retryAfterS) } : {}),
  });
  res.end(body);
  return status;
}
