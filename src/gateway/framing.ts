// Request framing for plain-HTTP forwarding. The gateway never passes the client's bytes after the
// head: it forwards the body llhttp parsed and frames it itself, so an origin that reads framing
// differently (a body on a GET, `Connection: Content-Length`, CL plus TE) cannot be handed a second
// request the gateway never checked. Anything whose framing two parsers could read two ways is
// refused here (llhttp already refuses CL with TE and duplicate Content-Length; this repeats those
// checks so the rule does not depend on parser flags).

/** How the forwarded request carries its body. */
export type Framing = { body: 'none' } | { body: 'length'; length: number } | { body: 'chunked' };
export type FramingResult = { ok: true; framing: Framing } | { ok: false; detail: string };

/** Methods whose requests carry no body here; one with a body is refused rather than guessed at. */
const NO_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers that frame or route a request: `Connection` may not name them for removal. */
const ESSENTIAL = new Set(['content-length', 'transfer-encoding', 'host']);

function connectionTokens(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) if (t.trim()) out.push(t.trim().toLowerCase());
  }
  return out;
}

/** The framing of a request from its raw headers, or why it is ambiguous. */
export function requestFraming(method: string, raw: readonly string[], opts: { upgrade?: boolean } = {}): FramingResult {
  const lengths: string[] = [];
  const encodings: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'content-length') lengths.push(raw[i + 1]!.trim());
    else if (name === 'transfer-encoding') encodings.push(raw[i + 1]!.trim().toLowerCase());
  }
  const named = connectionTokens(raw).filter((t) => ESSENTIAL.has(t));
  if (named.length > 0) return { ok: false, detail: `Connection names ${named.join(', ')}, which frames or routes the request` };
  if (lengths.length > 0 && encodings.length > 0) return { ok: false, detail: 'both Content-Length and Transfer-Encoding' };
  if (lengths.length > 1) return { ok: false, detail: 'more than one Content-Length' };
  if (encodings.length > 1 || (encodings.length === 1 && encodings[0] !== 'chunked'))
    return { ok: false, detail: 'Transfer-Encoding other than a single "chunked"' };
  let framing: Framing = { body: 'none' };
  if (encodings.length === 1) framing = { body: 'chunked' };
  else if (lengths.length === 1) {
    if (!/^\d{1,15}$/.test(lengths[0]!)) return { ok: false, detail: 'Content-Length is not a number' };
    const length = Number(lengths[0]);
    if (length > 0) framing = { body: 'length', length };
  }
  if (framing.body !== 'none' && NO_BODY.has(method.toUpperCase())) return { ok: false, detail: `a ${method} request with a body` };
  if (framing.body !== 'none' && opts.upgrade) return { ok: false, detail: 'an upgrade request with a body' };
  return { ok: true, framing };
}

/**
 * The headers to pass on: without hop-by-hop headers, those `Connection` names, `extraDrop`, and
 * (for requests) the client's framing, which `framingHeaders` restates.
 */
export function forwardHeaders(raw: readonly string[], extraDrop: ReadonlySet<string>): string[] {
  const drop = new Set([...HOP_BY_HOP, ...connectionTokens(raw), ...extraDrop]);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!drop.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

/** The framing header of the forwarded request (none for a bodiless GET and the like). */
export function framingHeaders(method: string, f: Framing): string[] {
  if (f.body === 'length') return ['Content-Length', String(f.length)];
  if (f.body === 'chunked') return ['Transfer-Encoding', 'chunked'];
  return NO_BODY.has(method.toUpperCase()) ? [] : ['Content-Length', '0'];
}
