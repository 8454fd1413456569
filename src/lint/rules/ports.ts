// Published ports (`ports:`) and listening ports (`network.listen`): what may come into a sandbox.
import type { NemoclawConfig, SandboxSpec } from '../../generated/config.js';
import { parseHostPort } from '../../compiler/egress.js';
import { classifyIp, parseIp } from '../../util/ip.js';
import { isObject, objectEntries, quote, str, type Reporter } from '../report.js';

type Path = readonly (string | number)[];

export function lintPorts(r: Reporter, base: Path, sb: SandboxSpec): void {
  const net = isObject(sb.network) ? sb.network : undefined;
  const listen = Array.isArray(net?.listen) ? net.listen : undefined;
  // With a blueprint, network.listen may come from it: the compiler checks the merged result.
  const listenKnown = listen !== undefined || str(sb.blueprint) === undefined;
  (Array.isArray(sb.ports) ? sb.ports : []).forEach((p: unknown, i) => {
    if (!isObject(p)) return;
    const at = [...base, 'ports', i];
    const hp = parseHostPort(String(p.host));
    if (!hp) {
      r.report('port-host-invalid', [...at, 'host'], `host ${quote(String(p.host))} is not ADDRESS:PORT`, 'write "127.0.0.1:18789"');
    } else {
      const ip = parseIp(hp.address);
      if (!ip || classifyIp(ip) !== 'loopback') {
        r.report(
          'port-published-beyond-loopback',
          [...at, 'host'],
          `${quote(String(p.host))} publishes the sandbox beyond this host's loopback: anyone who reaches that address reaches the agent`,
          'use 127.0.0.1 (or [::1]) and an SSH tunnel or reverse proxy with authentication for remote access',
        );
      }
    }
    if (listenKnown && typeof p.sandbox === 'number' && !(listen ?? []).includes(p.sandbox)) {
      r.report(
        'port-not-listened',
        [...at, 'sandbox'],
        `sandbox port ${p.sandbox} is published but not in network.listen: the agent cannot bind it (Landlock refuses)`,
        `add ${p.sandbox} to network.listen`,
      );
    }
  });
}

/** A host address and port published by two sandboxes (or twice by one): only one can bind it. */
export function lintPortClashes(r: Reporter, config: NemoclawConfig): void {
  const seen = new Map<string, string>();
  for (const [name, sb] of objectEntries(config.sandboxes)) {
    if (!isObject(sb) || !Array.isArray(sb.ports)) continue;
    sb.ports.forEach((p: unknown, i) => {
      if (!isObject(p)) return;
      const hp = parseHostPort(String(p.host));
      if (!hp) return;
      // Any address and a specific one on the same port clash too: the wildcard holds them all.
      const key = String(hp.port);
      const first = seen.get(key);
      if (first !== undefined) {
        r.report(
          'port-published-twice',
          ['sandboxes', name, 'ports', i, 'host'],
          `host port ${hp.port} is already published by ${first}`,
          'give each published port its own host port',
        );
      } else seen.set(key, `sandbox ${quote(name)} (${String(p.host)})`);
    });
  }
}
