// Headers between the agent and the provider. Every credential the caller sends is dropped (its
// own key, cookies, account selectors); the provider's key is added in the provider's own style.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { redactText } from './redact.js';
import type { Api } from './route.js';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
/** Caller credentials and identity, and headers the router sets itself. */
const CALLER_ONLY = [
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'cookie',
  'openai-organization',
  'openai-project',
  'host',
  'content-length',
  'accept-encoding',
  'expect',
];
const REQUEST_DROP = new Set([...HOP_BY_HOP, ...CALLER_ONLY]);
const RESPONSE_DROP = new Set([...HOP_BY_HOP, 'set-cookie']);

export const ANTHROPIC_VERSION = '2023-06-01';

function dropList(raw: string[], base: Set<string>): Set<string> {
  const drop = new Set(base);
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) drop.add(t.trim().toLowerCase());
  }
  return drop;
}

/** The request headers for the provider: the caller's, minus credentials, plus the provider's key. */
export function upstreamHeaders(raw: string[], api: Api, key: string | null): OutgoingHttpHeaders {
  const drop = dropList(raw, REQUEST_DROP);
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (drop.has(name) || name.startsWith('x-nemoclaw-')) continue;
    const prev = out[name];
    out[name] = prev === undefined ? raw[i + 1]! : `${String(prev)}, ${raw[i + 1]!}`;
  }
  out['accept-encoding'] = 'identity'; // the router reads usage from the stream as it passes
  if (api === 'anthropic') {
    out['anthropic-version'] ??= ANTHROPIC_VERSION;
    if (key !== null) out['x-api-key'] = key;
  } else if (key !== null) {
    out.authorization = `Bearer ${key}`;
  }
  return out;
}

/** The provider's response headers for the agent, minus hop-by-hop headers and cookies; `key` masked if echoed. */
export function downstreamHeaders(raw: string[], key: string | null): string[] {
  const drop = dropList(raw, RESPONSE_DROP);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!drop.has(raw[i]!.toLowerCase())) out.push(raw[i]!, redactText(raw[i + 1]!, key));
  return out;
}

export function wantsAnthropic(h: IncomingHttpHeaders): boolean {
  return h['anthropic-version'] !== undefined || h['x-api-key'] !== undefined;
}
