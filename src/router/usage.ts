// Token counts from the providers' own `usage` fields: in a JSON body, and in a stream's events
// (OpenAI's final chunk, Anthropic's message_start/message_delta, Responses' response.completed).
// The stream scanner sees every chunk as it passes and never holds more than one event line.
import { StringDecoder } from 'node:string_decoder';

export interface Tokens {
  input: number;
  output: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/** Counts one parsed object carries (0 when it carries none). */
export function usageOf(o: unknown): Tokens {
  if (typeof o !== 'object' || o === null) return { input: 0, output: 0 };
  const r = o as Record<string, unknown>;
  const nested = (k: string) => (typeof r[k] === 'object' && r[k] !== null ? (r[k] as Record<string, unknown>).usage : undefined);
  const u = (r.usage ?? nested('message') ?? nested('response')) as Record<string, unknown> | undefined;
  if (typeof u !== 'object' || u === null) return { input: 0, output: 0 };
  return {
    input: num(u.prompt_tokens) || num(u.input_tokens) + num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens),
    output: num(u.completion_tokens) || num(u.output_tokens),
  };
}

/** Counts are cumulative in every protocol we read: the largest seen wins. */
export function merge(a: Tokens, b: Tokens): Tokens {
  return { input: Math.max(a.input, b.input), output: Math.max(a.output, b.output) };
}

const MAX_LINE = 1 << 20;
const MAX_JSON = 8 << 20;

/** Feed response chunks as they pass; `tokens()` at the end. */
export interface UsageMeter {
  feed(chunk: Buffer): void;
  tokens(): Tokens;
}

export function sseMeter(): UsageMeter {
  const dec = new StringDecoder('utf8');
  let tail = '';
  let t: Tokens = { input: 0, output: 0 };
  const line = (l: string) => {
    // Only lines that mention usage are parsed: most chunks are text deltas.
    if (!l.startsWith('data:') || !l.includes('"usage"')) return;
    try {
      t = merge(t, usageOf(JSON.parse(l.slice(5))));
    } catch {
      /* not JSON ([DONE], a partial line cut by the cap): carries no usage */
    }
  };
  return {
    feed(chunk) {
      const text = tail + dec.write(chunk);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        line(text.slice(start, nl).trimEnd());
        start = nl + 1;
      }
      tail = text.length - start > MAX_LINE ? '' : text.slice(start);
    },
    tokens() {
      if (tail) line(tail.trimEnd());
      tail = '';
      return t;
    },
  };
}

export function jsonMeter(): UsageMeter {
  const parts: Buffer[] = [];
  let size = 0;
  return {
    feed(chunk) {
      size += chunk.length;
      if (size <= MAX_JSON) parts.push(chunk);
    },
    tokens() {
      if (size > MAX_JSON) return { input: 0, output: 0 };
      try {
        return usageOf(JSON.parse(Buffer.concat(parts).toString('utf8')));
      } catch {
        return { input: 0, output: 0 };
      }
    },
  };
}
