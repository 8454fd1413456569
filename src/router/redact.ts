// Masks the provider's credential in what the provider sends back, should it echo it (a debug
// field, an error that quotes the request's headers). Streaming-safe: a key split across chunks is
// caught by holding back only the tail of a chunk that could be the start of the key, so an SSE
// event (ending in "\n\n") is never delayed. The mask has the key's length, so a Content-Length
// stays true and a masked JSON string stays valid JSON.

/** Keys shorter than this are not masked: masking a few common bytes would garble every answer. */
export const MIN_REDACT_LENGTH = 8;
const MASK = 0x2a; // '*'

export interface StreamRedactor {
  /** The bytes that may go out now (the chunk, masked, minus a held-back tail; possibly empty). */
  push(chunk: Buffer): Buffer;
  /** What is still held back, at the end of the stream. */
  flush(): Buffer;
}

const PASS: StreamRedactor = { push: (c) => c, flush: () => Buffer.alloc(0) };

export function streamRedactor(key: string | null): StreamRedactor {
  if (key === null || key.length < MIN_REDACT_LENGTH) return PASS;
  const k = Buffer.from(key);
  let held: Buffer | null = null;
  return {
    push(chunk) {
      const data = held ? Buffer.concat([held, chunk]) : chunk;
      held = null;
      mask(data, k);
      const keep = partialTail(data, k);
      if (keep === 0) return data;
      held = Buffer.from(data.subarray(data.length - keep));
      return data.subarray(0, data.length - keep);
    },
    flush() {
      const rest = held ?? Buffer.alloc(0);
      held = null;
      return rest;
    },
  };
}

/** Masks every whole occurrence of k in data, in place. */
function mask(data: Buffer, k: Buffer): void {
  for (let i = data.indexOf(k); i >= 0; i = data.indexOf(k, i + k.length)) data.fill(MASK, i, i + k.length);
}

/** The length of the longest tail of data that is a proper prefix of k (0 when none). */
function partialTail(data: Buffer, k: Buffer): number {
  const first = k[0]!;
  for (let n = Math.min(k.length - 1, data.length); n > 0; n--) {
    const at = data.length - n;
    if (data[at] === first && data.compare(k, 0, n, at) === 0) return n;
  }
  return 0;
}

/** Masks the key in a whole string (header values, captured text). */
export function redactText(text: string, key: string | null): string {
  if (key === null || key.length < MIN_REDACT_LENGTH || !text.includes(key)) return text;
  return text.split(key).join('*'.repeat(key.length));
}
