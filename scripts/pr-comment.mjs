// Posts a markdown body (nemoclaw diff --format markdown) as ONE sticky pull-request comment:
// the comment carrying MARKER is updated on every push, never a new one per push.
// Usage: node scripts/pr-comment.mjs BODY_FILE
// Environment (as GitHub Actions sets it): GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name),
// PR_NUMBER, GITHUB_API_URL (the REST API root; tests point it at a loopback server).
// No dependencies: Node's fetch, so the reusable workflow can run it from the installed package.
import { readFileSync } from 'node:fs';

export const MARKER = '<!-- nemoclaw-diff:sticky -->';
const LIMIT = 65_536;

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

async function api(base, token, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return res.json();
}

/** The bot's comment that carries the marker, or undefined. Pages through every comment. */
async function findSticky(base, token, repo, pr) {
  for (let page = 1; ; page++) {
    const comments = await api(base, token, 'GET', `/repos/${repo}/issues/${pr}/comments?per_page=100&page=${page}`);
    // Only a bot's comment: anyone can paste the marker into a comment of their own.
    const hit = comments.find((c) => typeof c.body === 'string' && c.body.startsWith(MARKER) && c.user?.type === 'Bot');
    if (hit) return hit;
    if (comments.length < 100) return undefined;
  }
}

export async function postSticky({ base, token, repo, pr, body }) {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new Error(`GITHUB_REPOSITORY must be owner/name, not ${repo}`);
  if (!/^\d+$/.test(String(pr))) throw new Error(`PR_NUMBER must be a number, not ${pr}`);
  let text = `${MARKER}\n${body}`;
  if (Buffer.byteLength(text) > LIMIT)
    text =
      Buffer.from(text)
        .subarray(0, LIMIT - 200)
        .toString('utf8')
        .replace(/\uFFFD$/, '') + '\n\n_…cut to fit the comment limit._\n';
  const existing = await findSticky(base, token, repo, pr);
  if (existing) {
    await api(base, token, 'PATCH', `/repos/${repo}/issues/comments/${existing.id}`, { body: text });
    return { action: 'updated', id: existing.id };
  }
  const created = await api(base, token, 'POST', `/repos/${repo}/issues/${pr}/comments`, { body: text });
  return { action: 'created', id: created.id };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const file = process.argv[2];
    if (!file) throw new Error('usage: pr-comment.mjs BODY_FILE');
    const r = await postSticky({
      base: (process.env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
      token: env('GITHUB_TOKEN'),
      repo: env('GITHUB_REPOSITORY'),
      pr: env('PR_NUMBER'),
      body: readFileSync(file, 'utf8'),
    });
    console.log(`${r.action} comment ${r.id}`);
  } catch (e) {
    console.error(`pr-comment: ${e.message}`);
    process.exit(1);
  }
}
