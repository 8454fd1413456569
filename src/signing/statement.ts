// The signed statement: an in-toto Statement v1 whose subjects are the blueprint digests of every
// sandbox compiled from a config at one commit. Pure.
import type { CompileOutput } from '../compiler/compile.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://nemoclaw.dev/blueprints/v1';
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Subjects are named `sandbox/<name>`, so a statement could later carry other kinds of subject. */
const SUBJECT_PREFIX = 'sandbox/';

export interface BlueprintStatement {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: typeof PREDICATE_TYPE;
  predicate: {
    source: { commit: string; file: string };
    /** sha256 of the compiled index (every sandbox → digest), the same value `compile` writes. */
    index_digest: string;
  };
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

export function blueprintStatement(commit: string, file: string, output: CompileOutput, indexDigest: string): BlueprintStatement {
  return {
    _type: STATEMENT_TYPE,
    subject: output.sandboxes.map((s) => ({ name: SUBJECT_PREFIX + s.name, digest: { sha256: hex(s.digest) } })),
    predicateType: PREDICATE_TYPE,
    predicate: { source: { commit, file }, index_digest: indexDigest },
  };
}

/** Parse a statement from a verified payload; throws a message naming what is wrong. */
export function parseStatement(payload: Buffer): BlueprintStatement {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new Error('the signed payload is not JSON');
  }
  const s = v as Partial<BlueprintStatement>;
  if (s._type !== STATEMENT_TYPE) throw new Error(`the signed payload is not an in-toto statement v1 (_type ${String(s._type)})`);
  if (s.predicateType !== PREDICATE_TYPE)
    throw new Error(`the statement's predicateType is ${String(s.predicateType)}, not ${PREDICATE_TYPE}`);
  if (!Array.isArray(s.subject) || typeof s.predicate?.source?.commit !== 'string' || typeof s.predicate.source.file !== 'string')
    throw new Error('the statement lacks its subjects or its source commit');
  for (const x of s.subject)
    if (typeof x?.name !== 'string' || !x.name.startsWith(SUBJECT_PREFIX) || typeof x.digest?.sha256 !== 'string')
      throw new Error('the statement has a malformed subject');
  return s as BlueprintStatement;
}

/** Sandbox name → `sha256:<hex>` as signed. */
export function signedDigests(s: BlueprintStatement): Map<string, string> {
  return new Map(s.subject.map((x) => [x.name.slice(SUBJECT_PREFIX.length), `sha256:${x.digest.sha256}`]));
}

/** Every difference between the signed digests and the recompiled ones, one sentence each. */
export function digestMismatches(signed: Map<string, string>, compiled: Map<string, string>): string[] {
  const out: string[] = [];
  for (const name of [...new Set([...signed.keys(), ...compiled.keys()])].sort()) {
    const a = signed.get(name);
    const b = compiled.get(name);
    if (a === undefined) out.push(`sandbox ${name} compiles to ${b} but is not in the signed statement`);
    else if (b === undefined) out.push(`sandbox ${name} is signed (${a}) but the config at this commit does not declare it`);
    else if (a !== b) out.push(`sandbox ${name}: signed digest ${a}, recompiled digest ${b}`);
  }
  return out;
}
