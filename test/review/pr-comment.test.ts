// scripts/pr-comment.mjs against a fake of the GitHub REST API on loopback: the first run creates
// the sticky comment, later runs update the same comment, other people's comments are left alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

interface Comment {
  id: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
}

const TOKEN = 'ghs_test_token_not_a_secret';

async function fakeGitHub(t: import('node:test').TestContext, comments: Comment[]) {
  const calls: string[] = [];
  let nextId = 1000;
  const readBody = async (req: IncomingMessage) => {
    let s = '';
    for await (const chunk of req) s += String(chunk);
    return JSON.parse(s) as { body: string };
  };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      calls.push(`${req.method} ${url.pathname}${url.search}`);
      const send = (status: number, v: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { message: 'Bad credentials' });
      let m = /^\/repos\/acme\/agents\/issues\/7\/comments$/.exec(url.pathname);
      if (m && req.method === 'GET') {
        const per = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        return send(200, comments.slice((page - 1) * per, page * per));
      }
      if (m && req.method === 'POST') {
        const c: Comment = { id: nextId++, body: (await readBody(req)).body, user: { login: 'github-actions[bot]', type: 'Bot' } };
        comments.push(c);
        return send(201, c);
      }
      m = /^\/repos\/acme\/agents\/issues\/comments\/(\d+)$/.exec(url.pathname);
      if (m && req.method === 'PATCH') {
        const c = comments.find((x) => x.id === Number(m![1]));
        if (!c) return send(404, { message: 'Not Found' });
        c.body = (await readBody(req)).body;
        return send(200, c);
      }
      send(404, { message: 'Not Found' });
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

function run(api: string, bodyFile: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(repoRoot, 'scripts', 'pr-comment.mjs'), bodyFile], {
      env: { ...process.env, GITHUB_API_URL: api, GITHUB_TOKEN: TOKEN, GITHUB_REPOSITORY: 'acme/agents', PR_NUMBER: '7' },
    });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (out += String(d)));
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

test('pr-comment: creates one sticky comment, then updates that same comment on the next push', async (t) => {
  // 120 earlier comments, so finding the sticky one needs the second page; one of them is a
  // person quoting the marker, which must never be edited.
  const comments: Comment[] = Array.from({ length: 120 }, (_, i) => ({
    id: i + 1,
    body: `comment ${i}`,
    user: { login: 'dev', type: 'User' as const },
  }));
  comments[50]!.body = '<!-- nemoclaw-diff:sticky -->\nquoted by a person';
  const gh = await fakeGitHub(t, comments);
  const dir = tempDir(t);
  const body = join(dir, 'diff.md');

  writeFileSync(body, '### nemoclaw diff\n- **assistant**: widens egress (1 host)\n');
  const first = await run(gh.url, body);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, /created comment 1000/);
  assert.ok(!first.out.includes(TOKEN));
  assert.equal(comments.length, 121);

  writeFileSync(body, '### nemoclaw diff\n- **assistant**: narrows egress\n');
  const second = await run(gh.url, body);
  assert.equal(second.code, 0, second.out);
  assert.match(second.out, /updated comment 1000/);
  assert.equal(comments.length, 121, 'no second comment');
  const sticky = comments.find((c) => c.id === 1000)!;
  assert.ok(sticky.body.startsWith('<!-- nemoclaw-diff:sticky -->\n'));
  assert.match(sticky.body, /narrows egress/);
  assert.doesNotMatch(sticky.body, /widens/);
  assert.equal(comments[50]!.body, '<!-- nemoclaw-diff:sticky -->\nquoted by a person');
  assert.ok(gh.calls.includes('PATCH /repos/acme/agents/issues/comments/1000'));
  assert.ok(gh.calls.some((c) => c.includes('page=2')));
});

test('pr-comment: an API error is a clear message and exit 1', async (t) => {
  const gh = await fakeGitHub(t, []);
  const dir = tempDir(t);
  const body = join(dir, 'diff.md');
  writeFileSync(body, 'x');
  const r = await new Promise<{ code: number; out: string }>((resolve) => {
    const p = spawn(process.execPath, [join(repoRoot, 'scripts', 'pr-comment.mjs'), body], {
      env: { ...process.env, GITHUB_API_URL: gh.url, GITHUB_TOKEN: 'wrong', GITHUB_REPOSITORY: 'acme/agents', PR_NUMBER: '7' },
    });
    let out = '';
    p.stderr.on('data', (d) => (out += String(d)));
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
  assert.equal(r.code, 1);
  assert.match(r.out, /pr-comment: GET \/repos\/acme\/agents\/issues\/7\/comments\?per_page=100&page=1: HTTP 401/);
});
