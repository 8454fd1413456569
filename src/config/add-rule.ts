// Turning an approval into configuration: append an egress rule to nemoclaw.yaml with the
// smallest possible textual edit (comments, quoting, ordering and indentation elsewhere stay
// byte-identical), check the result, and optionally commit it naming the approver.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { dirname, basename } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { gitAt } from '../util/git.js';
import { UserError } from '../util/errors.js';
import { loadDocument } from './load.js';
import { schemaDiagnostics } from './validate.js';
import { writeFileAtomic } from '../util/atomic-write.js';
/** The parts of a gateway approval that become a rule (kept here so config does not import the gateway). */
export interface ApprovedRequest {
  id: string;
  sandbox: string;
  host: string;
  port: number;
  kind: 'tunnel' | 'http';
  hits: number;
}

export interface PersistedRule {
  name: string;
  endpoints: { host: string; port: number; protocol?: 'https' | 'http' }[];
}

/** The rule an approval stands for: exactly the host and port that was asked for. */
export function ruleFor(a: Pick<ApprovedRequest, 'host' | 'port' | 'kind'>, existingNames: ReadonlySet<string>): PersistedRule {
  const base = `approved-${a.host}-${a.port}`.replace(/[^a-z0-9_.-]/g, '-').slice(0, 63);
  let name = base;
  for (let i = 2; existingNames.has(name); i++) name = `${base.slice(0, 60)}-${i}`;
  const defaultProtocol = a.port === 443 ? 'https' : 'http';
  const protocol = a.kind === 'tunnel' ? 'https' : 'http';
  return { name, endpoints: [{ host: a.host, port: a.port, ...(protocol !== defaultProtocol ? { protocol } : {}) }] };
}

function lineStart(src: string, offset: number): number {
  return src.lastIndexOf('\n', offset - 1) + 1;
}
function endOfLine(src: string, offset: number): number {
  const i = src.indexOf('\n', offset);
  return i < 0 ? src.length : i + 1;
}
/** End of the last line holding content of a node (its range end can include trailing blank lines). */
function contentEnd(src: string, end: number): number {
  let i = end;
  while (i > 0 && /\s/.test(src[i - 1]!)) i--;
  return endOfLine(src, i);
}
function indentOf(src: string, offset: number): number {
  return offset - lineStart(src, offset);
}

function ruleLines(rule: PersistedRule, indent: number): string {
  const pad = ' '.repeat(indent);
  const lines = [`${pad}- name: ${rule.name}`, `${pad}  endpoints:`];
  for (const e of rule.endpoints) {
    lines.push(`${pad}    - host: ${JSON.stringify(e.host)}`, `${pad}      port: ${e.port}`);
    if (e.protocol) lines.push(`${pad}      protocol: ${e.protocol}`);
  }
  return lines.join('\n') + '\n';
}

/** Text edit for block-style YAML; undefined when the layout is one this edit does not handle. */
function textualInsert(src: string, doc: Document, sandbox: string, rule: PersistedRule): string | undefined {
  const sb = doc.getIn(['sandboxes', sandbox], true);
  if (!isMap(sb) || sb.flow || !sb.range) return undefined;
  const network = (sb as YAMLMap).get('network', true);
  const insertAt = (offset: number, text: string) => {
    const withNl = offset > 0 && src[offset - 1] !== '\n' ? '\n' + text : text;
    return src.slice(0, offset) + withNl + src.slice(offset);
  };
  if (network === undefined) {
    const firstKey = (sb as YAMLMap).items[0]?.key as { range?: [number, number, number] } | undefined;
    if (!firstKey?.range) return undefined;
    const ind = indentOf(src, firstKey.range[0]);
    const body = ruleLines(rule, ind + 4);
    return insertAt(contentEnd(src, sb.range[1]), `${' '.repeat(ind)}network:\n${' '.repeat(ind + 2)}egress:\n${body}`);
  }
  if (!isMap(network) || network.flow || !network.range) return undefined;
  const egress = network.get('egress', true);
  if (egress === undefined) {
    const firstKey = network.items[0]?.key as { range?: [number, number, number] } | undefined;
    if (!firstKey?.range) return undefined;
    const ind = indentOf(src, firstKey.range[0]);
    return insertAt(contentEnd(src, network.range[1]), `${' '.repeat(ind)}egress:\n${ruleLines(rule, ind + 2)}`);
  }
  if (!isSeq(egress) || egress.flow || !egress.range || (egress as YAMLSeq).items.length === 0) return undefined;
  const items = (egress as YAMLSeq).items as { range?: [number, number, number] }[];
  const first = items[0]!;
  if (!first.range) return undefined;
  const dash = src.lastIndexOf('-', first.range[0]);
  if (dash < lineStart(src, first.range[0])) return undefined;
  const last = items.at(-1)!;
  return insertAt(contentEnd(src, last.range![1]), ruleLines(rule, indentOf(src, dash)));
}

/** Structural fallback: the yaml library's Document API (keeps comments, may re-indent). */
function documentInsert(doc: Document, sandbox: string, rule: PersistedRule): string {
  const path = ['sandboxes', sandbox, 'network', 'egress'];
  const seq = doc.getIn(path, true);
  if (isSeq(seq)) seq.add(doc.createNode(rule));
  else doc.setIn(path, doc.createNode([rule]));
  return doc.toString({ lineWidth: 0 });
}

export interface PersistResult {
  file: string;
  rule: PersistedRule;
  text: string;
  method: 'text' | 'document';
}

/** The new file content with the rule added; the file itself is not written. */
export function addRuleToConfig(
  file: string,
  src: string,
  sandbox: string,
  a: Pick<ApprovedRequest, 'host' | 'port' | 'kind'>,
): PersistResult {
  const doc = parseDocument(src, { lineCounter: new LineCounter(), keepSourceTokens: false });
  if (doc.errors.length) throw new UserError(`${file}: cannot parse YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const before = doc.toJS() as { sandboxes?: Record<string, { network?: { egress?: { name: string }[] } }> };
  const spec = before?.sandboxes?.[sandbox];
  if (!spec) throw new UserError(`${file} has no sandbox named ${sandbox}`);
  const names = new Set((spec.network?.egress ?? []).map((r) => r.name));
  const rule = ruleFor(a, names);
  const expected = structuredClone(before);
  const sb = expected.sandboxes![sandbox]!;
  sb.network ??= {};
  sb.network.egress = [...(sb.network.egress ?? []), rule as unknown as { name: string }];

  // Verify by re-parsing: the edit must produce exactly the intended data and nothing else.
  const same = (text: string) => {
    const d = parseDocument(text);
    return d.errors.length === 0 && isDeepStrictEqual(d.toJS(), expected);
  };
  let text = textualInsert(src, doc, sandbox, rule);
  let method: PersistResult['method'] = 'text';
  if (text === undefined || !same(text)) {
    text = documentInsert(parseDocument(src), sandbox, rule);
    method = 'document';
    if (!same(text)) throw new UserError(`could not add the rule to ${file} safely; add it by hand:\n${ruleLines(rule, 0)}`);
  }
  const loaded = loadDocument(file, text);
  const problems = [...loaded.diagnostics, ...(loaded.value === undefined ? [] : schemaDiagnostics(loaded))];
  if (problems.length) throw new UserError(`${file} would not validate after adding the rule`, problems);
  return { file, rule, text, method };
}

export function persistApproval(file: string, a: ApprovedRequest): PersistResult {
  let src: string;
  try {
    src = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const r = addRuleToConfig(file, src, a.sandbox, a);
  writeFileAtomic(file, r.text, { mode: 0o644 });
  return r;
}

/** The commit message of an approval turned into a rule: sandbox, destination, approver, reason. */
export function approvalMessage(a: ApprovedRequest, rule: PersistedRule, actor: string, reason: string | undefined): string {
  return [
    `nemoclaw: allow ${a.sandbox} to reach ${a.host}:${a.port}`,
    '',
    `Adds egress rule "${rule.name}" from approval ${a.id} (${a.hits} request${a.hits === 1 ? '' : 's'} seen).`,
    ...(reason ? ['', `Reason: ${reason}`] : []),
    '',
    `Approved-by: ${actor}`,
  ].join('\n');
}

/** Commit only the config file, with the approver and the reason in the message. */
export async function commitApproval(
  file: string,
  a: ApprovedRequest,
  rule: PersistedRule,
  actor: string,
  reason: string | undefined,
): Promise<string> {
  const git = gitAt(dirname(file));
  if (!(await git.checkIsRepo())) throw new UserError(`${file} is not in a git repository; drop --commit or run git init`);
  const name = basename(file);
  await git.add(name);
  const res = await git.commit(approvalMessage(a, rule, actor, reason), [name]);
  return res.commit;
}
