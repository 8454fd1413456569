// Where model calls leave the proxy: the gateway recognizes them, the inference router (a sibling,
// injected by the daemon) serves them. The gateway knows the caller by the socket it came in on
// and hands over the sandbox's current policy snapshot with the request.
//
// A model call is any origin-form request on the proxy port (`POST /v1/chat/completions`: an SDK
// whose base URL is http://127.0.0.1:<proxy port>), an absolute-form request to
// http://inference.local/…, or a CONNECT to inference.local:80 (Node's env proxy tunnels even
// http:// URLs). It is not checked against the egress rules: the route is the grant.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InferenceRoute } from '../compiler/artifacts.js';

export const INFERENCE_HOST = 'inference.local';

export interface InferenceCall {
  sandbox: string;
  policyVersion: string;
  route: InferenceRoute;
}

export interface InferenceHandler {
  /** Throws when a policy's inference section is not one the router can serve: the reload is refused. */
  check(route: InferenceRoute): void;
  /** Serve one model call; owns the response from here on. */
  handle(call: InferenceCall, req: IncomingMessage, res: ServerResponse): void;
}

/** Origin-form, or absolute-form to inference.local (any port, since the name is ours). */
export function isInferenceRequest(url: string): boolean {
  if (url.startsWith('/')) return true;
  const m = /^http:\/\/([^/:?#]+)(:\d+)?(?:[/?#]|$)/i.exec(url);
  return m !== null && m[1]!.toLowerCase() === INFERENCE_HOST;
}
