// Fakes of OpenAI- and Anthropic-compatible providers over real HTTPS on loopback, with a CA the
// test makes (openssl CLI: node:crypto cannot issue certificates). Each fake records exactly what
// it received, so tests can check the credential the router added and the ones it stripped.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';

export interface TestCa {
  caFile: string;
  cert: string;
  key: string;
}

/** A CA and a server certificate for 127.0.0.1 / localhost, made with openssl in DIR. */
export function makeCa(dir: string): TestCa {
  const f = (n: string) => join(dir, n);
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ossl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem')].concat([
      '-days',
      '2',
      '-subj',
      '/CN=nemoclaw test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ]),
  );
  ossl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    f('srv.key'),
    '-out',
    f('srv.csr'),
    '-subj',
    '/CN=localhost',
  ]);
  writeFileSync(f('srv.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ossl([
    'x509',
    '-req',
    '-in',
    f('srv.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    f('srv.pem'),
    '-extfile',
    f('srv.ext'),
  ]);
  return { caFile: f('ca.pem'), cert: readFileSync(f('srv.pem'), 'utf8'), key: readFileSync(f('srv.key'), 'utf8') };
}

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The router closed the request before the fake finished answering. */
  aborted: boolean;
}

export interface FakeOptions {
  api: 'openai' | 'anthropic';
  /** Answer every request with this status (e.g. 503) instead of a completion. */
  failWith?: number;
  /** Stream chunks: how many, and ms between them. */
  chunks?: number;
  chunkDelayMs?: number;
  /** A careless provider: echoes the Authorization header it got in its answer (streamed: split across two writes; with failWith: in the error body). */
  echoKey?: boolean;
  /** Drop a kept-alive connection when a second request arrives on it, as a provider that closed it while idle would appear. */
  resetReused?: boolean;
}

export interface FakeProvider {
  server: Server;
  port: number;
  url: string;
  seen: Seen[];
  opts: FakeOptions;
  close(): Promise<void>;
}

export async function fakeProvider(ca: TestCa, opts: FakeOptions): Promise<FakeProvider> {
  const seen: Seen[] = [];
  const served = new WeakSet<object>();
  const server = createServer({ cert: ca.cert, key: ca.key }, (req, res) => {
    if (fake.opts.resetReused) {
      // (resetAndDestroy is not offered on TLS sockets; a close before any answer is a "socket hang up", ECONNRESET, the same to the client.)
      if (served.has(req.socket)) return void req.socket.destroy();
      served.add(req.socket);
    }
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts).toString(), aborted: false };
      seen.push(s);
      res.on('close', () => {
        if (!res.writableFinished) s.aborted = true;
      });
      const auth = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '');
      if (fake.opts.failWith) {
        res.writeHead(fake.opts.failWith, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: fake.opts.echoKey ? `invalid credential: ${auth}` : 'overloaded' } }));
        return;
      }
      if (fake.opts.echoKey) {
        // The key split across two writes that reach the router as two chunks.
        const cut = auth.length - 5;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-debug-auth': auth });
        res.write(`data: {"debug":"${auth.slice(0, cut)}`);
        setTimeout(() => res.end(`${auth.slice(cut)}","choices":[]}\n\ndata: [DONE]\n\n`), 30);
        return;
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(s.body) as Record<string, unknown>;
      } catch {
        /* answered as an empty request */
      }
      answer(fake.opts, req.url!, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const fake: FakeProvider = {
    server,
    port,
    url: `https://127.0.0.1:${port}${opts.api === 'openai' ? '/v1' : ''}`,
    seen,
    opts,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  return fake;
}

type Res = import('node:http').ServerResponse;

function answer(o: FakeOptions, url: string, body: Record<string, unknown>, res: Res): void {
  const model = String(body.model ?? '');
  const n = o.chunks ?? 3;
  const delay = o.chunkDelayMs ?? 0;
  const sse = (events: string[]) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      if (i === events.length) return void res.end();
      res.write(events[i++]);
      if (delay) setTimeout(next, delay);
      else setImmediate(next);
    };
    next();
  };
  const json = (v: unknown) => {
    const text = JSON.stringify(v);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'set-cookie': 'tracker=1' });
    res.end(text);
  };
  if (o.api === 'anthropic') {
    if (body.stream === true) {
      const ev = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify({ type, ...(data as object) })}\n\n`;
      sse([
        ev('message_start', {
          message: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [], usage: { input_tokens: 7, output_tokens: 1 } },
        }),
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        ...Array.from({ length: n }, (_, i) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `w${i} ` } })),
        ev('content_block_stop', { index: 0 }),
        ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: n } }),
        ev('message_stop', {}),
      ]);
    } else {
      json({
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: 'hello from anthropic' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 7, output_tokens: 5 },
      });
    }
    return;
  }
  if (url.endsWith('/embeddings')) {
    const v = [0.5, 0.25, 0.125];
    // The SDK asks for base64 (little-endian float32) by default and decodes it itself.
    const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
    json({ object: 'list', model, data: [{ object: 'embedding', index: 0, embedding }], usage: { prompt_tokens: 4, total_tokens: 4 } });
    return;
  }
  if (body.stream === true) {
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const withUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    sse([
      chunk({ role: 'assistant', content: '' }, null),
      ...Array.from({ length: n }, (_, i) => chunk({ content: `w${i} ` }, null)),
      chunk({}, 'stop'),
      ...(withUsage
        ? [
            `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: 9, completion_tokens: n, total_tokens: 9 + n } })}\n\n`,
          ]
        : []),
      'data: [DONE]\n\n',
    ]);
    return;
  }
  json({
    id: 'c1',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'hello from openai' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
  });
}
