// Published ports (`ports:` in nemoclaw.yaml): the host side. For each sandbox, binds every
// published host address and relays each connection to the sandbox init's unix socket
// inbound-<port>.sock in that sandbox's socket directory (src/init/inbound.c), which connects
// to 127.0.0.1:<port> inside the sandbox. Composed by the daemon beside the gateway, the router
// and the supervisor; it follows each sandbox's live policy (egress.json `ports`), so publishing
// or unpublishing never restarts a sandbox. Every connection is audited when it ends.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { EgressArtifact } from '../compiler/artifacts.js';
import * as audit from '../audit/record.js';

type Published = NonNullable<EgressArtifact['ports']>[number];

export interface PublisherOptions {
  /** The sandbox's socket directory holds its inbound sockets (the gateway's proxy.sock beside them). */
  socketDir: (sandbox: string) => string;
  audit: (e: audit.AuditEntry) => void;
  log: (line: string) => void;
}

interface Listener {
  key: string;
  port: Published;
  server: Server;
  sockets: Set<Socket>;
}

const keyOf = (p: Published) => `${p.host_address}|${p.host_port}|${p.sandbox_port}`;
export const hostText = (address: string, port: number) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

export class Publisher {
  private readonly bySandbox = new Map<string, Map<string, Listener>>();

  constructor(private readonly opts: PublisherOptions) {}

  /** Make SANDBOX publish exactly PORTS (empty: nothing). Failures to bind are logged, not thrown. */
  async configure(sandbox: string, ports: Published[]): Promise<void> {
    const have = this.bySandbox.get(sandbox) ?? new Map<string, Listener>();
    this.bySandbox.set(sandbox, have);
    const want = new Map(ports.map((p) => [keyOf(p), p]));
    for (const [key, l] of have) if (!want.has(key)) await this.close(have, l);
    for (const [key, port] of want) {
      if (have.has(key)) continue;
      try {
        have.set(key, await this.listen(sandbox, key, port));
        this.opts.log(`publisher: ${sandbox}: ${hostText(port.host_address, port.host_port)} -> sandbox port ${port.sandbox_port}`);
      } catch (e) {
        this.opts.log(`publisher: ${sandbox}: cannot bind ${hostText(port.host_address, port.host_port)}: ${(e as Error).message}`);
      }
    }
    if (have.size === 0) this.bySandbox.delete(sandbox);
  }

  /** What is bound now, by sandbox (for status). */
  list(): Record<string, { host: string; sandbox_port: number }[]> {
    const out: Record<string, { host: string; sandbox_port: number }[]> = {};
    for (const [name, m] of this.bySandbox) {
      out[name] = [...m.values()].map((l) => ({
        host: hostText(l.port.host_address, l.port.host_port),
        sandbox_port: l.port.sandbox_port,
      }));
    }
    return out;
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.bySandbox.keys()]) await this.configure(name, []);
  }

  private async close(have: Map<string, Listener>, l: Listener): Promise<void> {
    have.delete(l.key);
    for (const s of l.sockets) s.destroy();
    await new Promise<void>((r) => l.server.close(() => r()));
  }

  private listen(sandbox: string, key: string, port: Published): Promise<Listener> {
    const sockets = new Set<Socket>();
    const host = hostText(port.host_address, port.host_port);
    const unixPath = join(this.opts.socketDir(sandbox), `inbound-${port.sandbox_port}.sock`);
    const server = createServer({ allowHalfOpen: true }, (client) => {
      sockets.add(client);
      const started = Date.now();
      const peer = hostText(client.remoteAddress ?? '?', client.remotePort ?? 0);
      const inner = createConnection({ path: unixPath, allowHalfOpen: true });
      sockets.add(inner);
      let error: string | undefined;
      let closed = 0;
      const done = () => {
        if (++closed < 2) return;
        sockets.delete(client);
        sockets.delete(inner);
        this.opts.audit(
          audit.inboundClosed({
            sandbox,
            host,
            sandbox_port: port.sandbox_port,
            peer,
            // Seen from the sandbox: bytes in came from the host client, bytes out went back to it.
            bytes_in: client.bytesRead,
            bytes_out: client.bytesWritten,
            duration_ms: Date.now() - started,
            error,
          }),
        );
      };
      const fail = (what: string) => (e: Error) => {
        error ??= `${what}: ${(e as NodeJS.ErrnoException).code ?? e.message}`;
        client.destroy();
        inner.destroy();
      };
      client.on('error', fail('client'));
      inner.on('error', fail('sandbox not reachable (is it running and listening?)'));
      client.on('close', done);
      inner.on('close', done);
      client.pipe(inner);
      inner.pipe(client);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: port.host_address, port: port.host_port }, () => {
        server.off('error', reject);
        resolve({ key, port, server, sockets });
      });
    });
  }
}
