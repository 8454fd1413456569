// Prompt and response capture for sandboxes with `inference.capture: full`: one JSON line per model
// call in <state>/gateway/inference-capture.jsonl (mode 0600, rotated like the audit log), linked
// to the call's audit record by call_id. Kept apart from the audit log because it holds what the
// audit log never does: prompts and answers. No header is captured, and the response is the one
// the agent got, with the provider's key already masked (redact.ts).
import { join } from 'node:path';
import { RotatingFile } from '../audit/rotating-file.js';

export const CAPTURE_FILE = 'inference-capture.jsonl';

export interface CaptureEntry {
  call_id: string;
  sandbox: string;
  provider: string | null;
  model: string | null;
  status: number;
  stream: boolean;
  /** The agent's request body, as text. */
  request: string;
  /** The response body as the agent received it (a stream reassembled: every event, in order). */
  response: string;
  /** The response was longer than the capture limit and is cut there. */
  truncated?: boolean;
}

export interface CaptureOptions {
  dir: string;
  maxBytes?: number;
  keep?: number;
}

/**
 * Opened on the first capture, so with capture off everywhere the file never exists. Entries are
 * written after the call ends, off the response path, batched once per event-loop turn. A failed
 * write drops the batch (a capture is not an audit record; the gateway keeps serving).
 */
export class CaptureLog {
  private file: RotatingFile | undefined;
  private queue: string[] = [];
  private scheduled = false;
  /** Entries lost to write errors since start. */
  dropped = 0;

  constructor(private readonly o: CaptureOptions) {}

  get path(): string {
    return join(this.o.dir, CAPTURE_FILE);
  }

  write(e: CaptureEntry): void {
    this.queue.push(JSON.stringify({ time: Date.now(), ...e }) + '\n');
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const lines = this.queue;
    this.queue = [];
    try {
      this.file ??= new RotatingFile(this.path, { maxBytes: this.o.maxBytes ?? 64 * 2 ** 20, keep: this.o.keep ?? 5, mode: 0o600 });
    } catch {
      this.dropped += lines.length;
      return;
    }
    if (this.file.append(Buffer.from(lines.join(''))).error) this.dropped += lines.length;
  }

  close(): void {
    this.flush();
    this.file?.close();
    this.file = undefined;
  }
}

/** Collects a response body for capture up to a limit. */
export class BodyTap {
  private parts: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  add(b: Buffer): void {
    if (this.size >= this.max) {
      if (b.length) this.truncated = true;
      return;
    }
    const room = this.max - this.size;
    const part = b.length > room ? b.subarray(0, room) : b;
    if (part.length < b.length) this.truncated = true;
    this.parts.push(Buffer.from(part)); // a copy: the chunk's memory may be reused
    this.size += part.length;
  }

  text(): string {
    return Buffer.concat(this.parts).toString('utf8');
  }
}
