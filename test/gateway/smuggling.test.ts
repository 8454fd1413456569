// Request smuggling and path spellings on plain http, and plain http inside a CONNECT tunnel: real
// sockets against a loopback origin that records every byte and every request it parses, so each
// test can show that the request the gateway never checked never reached it.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readAudit } from '../../src/audit/log.js';
import { connectVia, fakeResolver, policyBytes, startGateway, type RawResponse } from './helpers.js';

interface Origin {
  server: Server;
  port: number;
  /** Requests as the origin's own parser saw them (it keeps parsing after a body, as a vulnerable origin would). */
  requests: { method: string; url: string; body: string }[];
  /** Every byte any connection delivered. */
  raw(): string;
}

async function recordingOrigin(): Promise<Origin> {
  const requests: Origin['requests'] = [];
  const chunks: Buffer[] = [];
  const server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, body: Buffer.concat(body).toString('latin1') });
      const out = JSON.stringify({ url: req.url, body: Buffer.concat(body).toString('latin1') });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  server.on('connection', (s: Socket) => s.on('data', (c: Buffer) => chunks.push(c)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, requests, raw: () => Buffer.concat(chunks).toString('latin1') };
}

/** Read one response from a socket that may already hold `buffered` bytes; resolves with the rest. */
function readResponse(s: Socket, buffered: Buffer = Buffer.alloc(0), toHead = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf = buffered;
    const tryParse = (): boolean => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const len = toHead ? 0 : Number(headers['content-length'] ?? 0);
      if (buf.length < end + 4 + len) return false;
      s.off('data', onData);
      s.off('end', onEnd);
      resolve({
        status: Number(lines[0]!.split(' ')[1]),
        headers,
        body: buf.subarray(end + 4, end + 4 + len).toString('utf8'),
        socket: s,
        rest: buf.subarray(end + 4 + len),
      });
      return true;
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      tryParse();
    };
    const onEnd = () => reject(new Error(`ended before a full response: ${JSON.stringify(buf.toString('latin1'))}`));
    s.on('data', onData);
    s.on('end', onEnd);
    if (!tryParse()) s.resume();
  });
}

const SMUGGLED = 'POST /admin/delete HTTP/1.1\r\nHost: web.test\r\nContent-Length: 0\r\n\r\n';
/** A body that looks like a request, sent in properly framed bodies (it must arrive as a body). */
const LOOKALIKE = SMUGGLED.replace('/admin/delete', '/inside/a/body');

describe('plain http through the gateway', () => {
  let origin: Origin;
  let gw: Awaited<ReturnType<typeof startGateway>>;
  let socketPath: string;
  let url: string;

  before(async () => {
    origin = await recordingOrigin();
    gw = await startGateway({ resolver: fakeResolver({ 'web.test': ['127.0.0.1'] }) });
    ({ socketPath } = await gw.gw.applyPolicy(
      policyBytes('agent', [
        {
          name: 'web',
          endpoints: [
            {
              host: 'web.test',
              port: origin.port,
              protocol: 'http',
              methods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
              paths: ['/public/**'],
            },
          ],
        },
      ]),
    ));
    url = `http://web.test:${origin.port}`;
  });
  after(async () => {
    await gw.cleanup();
    origin.server.close();
  });

  const send = async (head: string) => {
    const s = connect(socketPath);
    s.write(head);
    // A response to HEAD has no body, whatever its content-length says.
    const r = await readResponse(s, Buffer.alloc(0), head.startsWith('HEAD '));
    s.destroy();
    return r;
  };
  const assertNeverSmuggled = () => {
    assert.ok(!origin.requests.some((r) => r.url.startsWith('/admin')), JSON.stringify(origin.requests));
    assert.ok(!origin.raw().includes('/admin'), 'the smuggled bytes never reached the origin');
  };

  it('refuses ambiguous framing with 400 before anything reaches the origin', async () => {
    const chunked = (body: string) => `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const cases: [string, string][] = [
      [
        'GET with a chunked body',
        `GET ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}`,
      ],
      ['HEAD with a body', `HEAD ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
      ['DELETE with a body', `DELETE ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
      [
        'OPTIONS with a chunked body',
        `OPTIONS ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}`,
      ],
      [
        'GET with Connection: Content-Length',
        `GET ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nConnection: Content-Length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      ],
      [
        'POST with Connection: Content-Length',
        `POST ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nConnection: keep-alive, Content-Length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      ],
      [
        'POST with Connection: Transfer-Encoding',
        `POST ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}`,
      ],
      [
        'Content-Length and Transfer-Encoding',
        `POST ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}`,
      ],
      [
        'duplicate Content-Length',
        `POST ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      ],
      [
        'Content-Length list',
        `POST ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nContent-Length: 0, ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      ],
      [
        'Transfer-Encoding other than chunked',
        `POST ${url}/public/a HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${chunked(SMUGGLED)}`,
      ],
    ];
    for (const [name, head] of cases) {
      const r = await send(head);
      assert.equal(r.status, 400, name);
      assert.equal(r.headers['x-nemoclaw-deny'], 'bad_request', name);
      if (!name.startsWith('HEAD')) assert.equal(JSON.parse(r.body).reason, 'bad_request', name);
    }
    assert.deepEqual(origin.requests, [], 'nothing was forwarded');
    assert.equal(origin.raw(), '');
  });

  it('re-frames what it forwards: the origin sees exactly the bodies the gateway parsed', async () => {
    const before = origin.requests.length;
    // A chunked POST whose body looks like a request: forwarded chunked (or sized), as one body.
    const a = await send(
      `POST ${url}/public/chunked HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n${LOOKALIKE.length.toString(16)}\r\n${LOOKALIKE}\r\n0\r\n\r\n`,
    );
    assert.equal(a.status, 200);
    assert.deepEqual(JSON.parse(a.body), { url: '/public/chunked', body: `hello${LOOKALIKE}` });
    const b = await send(`POST ${url}/public/sized HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5\r\n\r\nhello`);
    assert.deepEqual(JSON.parse(b.body), { url: '/public/sized', body: 'hello' });
    const c = await send(
      `GET ${url}/public/get HTTP/1.1\r\nHost: web.test\r\nContent-Length: 0\r\nKeep-Alive: 5\r\nConnection: Keep-Alive\r\n\r\n`,
    );
    assert.equal(c.status, 200);
    const got = origin.requests.slice(before);
    assert.deepEqual(
      got.map((r) => `${r.method} ${r.url}`),
      ['POST /public/chunked', 'POST /public/sized', 'GET /public/get'],
    );
    assert.ok(!/keep-alive: 5/i.test(origin.raw()), 'hop-by-hop headers are dropped');
  });

  it('refuses dot-segment spellings as ambiguous_path', async () => {
    const before = origin.requests.length;
    for (const path of [
      '/public/..;/admin',
      '/public/.;/admin',
      '/public/..;jsessionid=x/admin',
      '/public/%2e%2e;/admin',
      '/public/%2e%2e%3b/admin',
      '/public/%c0%ae%c0%ae/admin',
      '/public/%e0%80%ae%e0%80%ae/admin',
      '/public/%252e%252e/admin',
      '/public/%25%32%65%25%32%65/admin',
      '/public/%u002e%u002e/admin',
      '/public/%uff0e%uff0e/admin',
      '/public/%ef%bc%8e%ef%bc%8e/admin', // fullwidth full stops (NFKC: ..)
      '/public/..%ef%bc%8f..%ef%bc%8fadmin', // fullwidth solidus
      '/public/%c0%af../admin',
      '/public/%00/admin',
      '/public/%zz/admin',
      '/public/100%/admin',
    ]) {
      const r = await send(`GET ${url}${path} HTTP/1.1\r\nHost: web.test\r\n\r\n`);
      assert.equal(r.status, 400, path);
      assert.equal(r.headers['x-nemoclaw-deny'], 'ambiguous_path', path);
    }
    assert.equal(origin.requests.length, before);
    assertNeverSmuggled();
    const ok = await send(`GET ${url}/public/%41bc/a.b;v=1 HTTP/1.1\r\nHost: web.test\r\n\r\n`);
    assert.equal(ok.status, 200, 'ordinary escapes and segment parameters still pass');
  });

  it('CONNECT to a protocol: http endpoint checks every request inside the tunnel', async () => {
    const before = origin.requests.length;
    const tunnel = await connectVia(socketPath, `web.test:${origin.port}`);
    assert.equal(tunnel.status, 200);
    const s = tunnel.socket;
    try {
      // keep-alive: two allowed requests, one after the other
      s.write('GET /public/one HTTP/1.1\r\nHost: web.test\r\n\r\n');
      let r = await readResponse(s, tunnel.rest);
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).url, '/public/one');
      s.write(`POST /public/two HTTP/1.1\r\nHost: web.test\r\nContent-Length: 3\r\n\r\nabc`);
      r = await readResponse(s, r.rest);
      assert.deepEqual(JSON.parse(r.body), { url: '/public/two', body: 'abc' });
      // pipelined: an allowed request and a denied one in one write
      s.write('GET /public/three HTTP/1.1\r\nHost: web.test\r\n\r\nGET /admin/delete HTTP/1.1\r\nHost: web.test\r\n\r\n');
      r = await readResponse(s, r.rest);
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).url, '/public/three');
      r = await readResponse(s, r.rest);
      assert.equal(r.status, 403);
      assert.equal(r.headers['x-nemoclaw-deny'], 'path_not_allowed');
      const body = JSON.parse(r.body);
      assert.equal(body.error, 'egress_denied');
      assert.equal(body.reason, 'path_not_allowed');
      assert.equal(body.host, 'web.test');
      assert.ok(body.next_steps.length > 0);
    } finally {
      s.destroy();
    }
    assert.deepEqual(
      origin.requests.slice(before).map((r) => `${r.method} ${r.url}`),
      ['GET /public/one', 'POST /public/two', 'GET /public/three'],
    );
    assertNeverSmuggled();

    await new Promise((r) => setTimeout(r, 20));
    gw.gw.flushAudit();
    const records = readAudit(join(gw.dir, 'gateway'), { sandbox: 'agent' });
    assert.ok(
      records.some(
        (x) => x.action === 'denied' && 'reason' in x && x.reason === 'path_not_allowed' && 'http' in x && x.http?.path === '/admin/delete',
      ),
      'the denial inside the tunnel is audited',
    );
    assert.ok(records.some((x) => x.activity === 'request' && x.action === 'allowed' && 'http' in x && x.http?.path === '/public/three'));
  });

  it('inside a tunnel: a denied first request, a method, smuggling and foreign destinations are refused', async () => {
    const before = origin.requests.length;
    const cases: [string, number, string][] = [
      ['GET /admin HTTP/1.1\r\nHost: web.test\r\n\r\n', 403, 'path_not_allowed'],
      ['PUT /public/x HTTP/1.1\r\nHost: web.test\r\nContent-Length: 0\r\n\r\n', 403, 'method_not_allowed'],
      ['GET /public/..;/admin HTTP/1.1\r\nHost: web.test\r\n\r\n', 400, 'ambiguous_path'],
      [
        `GET /public/x HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
        400,
        'bad_request',
      ],
      ['GET http://other.test/public/x HTTP/1.1\r\nHost: other.test\r\n\r\n', 400, 'bad_request'],
      ['CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n', 400, 'bad_request'],
    ];
    for (const [req, status, reason] of cases) {
      const tunnel = await connectVia(socketPath, `web.test:${origin.port}`);
      assert.equal(tunnel.status, 200);
      tunnel.socket.write(req);
      const r = await readResponse(tunnel.socket, tunnel.rest);
      assert.equal(r.status, status, req);
      assert.equal(r.headers['x-nemoclaw-deny'], reason, req);
      tunnel.socket.destroy();
    }
    assert.equal(origin.requests.length, before);
    assertNeverSmuggled();
    // absolute-form naming the tunnel's own destination is fine
    const tunnel = await connectVia(socketPath, `web.test:${origin.port}`);
    tunnel.socket.write(`GET http://web.test:${origin.port}/public/abs HTTP/1.1\r\nHost: web.test\r\n\r\n`);
    const r = await readResponse(tunnel.socket, tunnel.rest);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).url, '/public/abs');
    tunnel.socket.destroy();
  });
});
