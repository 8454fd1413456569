// Idle upstream connections for plain-HTTP forwarding, kept for reuse by the same sandbox only.
// A connection is keyed by (sandbox, host, port, the address it is connected to). It is taken
// only for a request the policy has just allowed, and only when its address is among those the
// SSRF guard has just checked for that request, so reuse never skips a decision. A connection
// comes back only after a complete response with no error; while idle, any byte or EOF from the
// origin, an error or the idle timeout destroys it.
import type { Socket } from 'node:net';

export interface PoolLimits {
  /** Close a connection idle this long; below the usual origin keep-alive (5 s in Node). */
  idleMs: number;
  maxPerKey: number;
  maxTotal: number;
}

export interface UpstreamPool {
  /** An idle connection for this sandbox and destination, connected to one of `addresses`. */
  take(sandbox: string, host: string, port: number, addresses: readonly string[]): Socket | undefined;
  /** Offer a connection whose last response was read to its end; refused ones are destroyed. */
  put(sandbox: string, host: string, port: number, sock: Socket): void;
  /** Close every idle connection of a sandbox (its policy changed, or it is gone). */
  closeSandbox(sandbox: string): number;
  size(): number;
}

interface Idle {
  key: string;
  sandbox: string;
  sock: Socket;
  timer: NodeJS.Timeout;
  drop: () => void;
}

const keyOf = (sandbox: string, host: string, port: number, address: string) => `${sandbox}\0${host}\0${port}\0${address}`;

export function createPool(limits: PoolLimits): UpstreamPool {
  const byKey = new Map<string, Idle[]>();
  /** All idle connections, oldest first: the total bound evicts from the front. */
  const all = new Set<Idle>();

  const detach = (e: Idle) => {
    clearTimeout(e.timer);
    e.sock.off('data', e.drop);
    e.sock.off('end', e.drop);
    e.sock.off('close', e.drop);
    e.sock.off('error', e.drop);
    all.delete(e);
    const list = byKey.get(e.key);
    if (list) {
      const i = list.indexOf(e);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) byKey.delete(e.key);
    }
  };
  const evict = (e: Idle) => {
    detach(e);
    e.sock.destroy();
  };

  return {
    take(sandbox, host, port, addresses) {
      for (const address of addresses) {
        const list = byKey.get(keyOf(sandbox, host, port, address));
        // Newest first: the one least likely to have been closed by the origin meanwhile.
        const e = list?.[list.length - 1];
        if (!e) continue;
        detach(e);
        if (e.sock.destroyed || !e.sock.writable || e.sock.readableEnded) {
          e.sock.destroy();
          continue;
        }
        e.sock.ref();
        return e.sock;
      }
      return undefined;
    },
    put(sandbox, host, port, sock) {
      const address = sock.remoteAddress;
      if (!address || sock.destroyed || !sock.writable || sock.readableEnded || sock.readableLength > 0 || limits.maxTotal <= 0) {
        sock.destroy();
        return;
      }
      const key = keyOf(sandbox, host, port, address);
      const list = byKey.get(key) ?? [];
      if (list.length >= limits.maxPerKey) evict(list[0]!);
      if (all.size >= limits.maxTotal) evict(all.values().next().value!);
      const e: Idle = {
        key,
        sandbox,
        sock,
        timer: setTimeout(() => evict(e), limits.idleMs).unref(),
        drop: () => evict(e),
      };
      // Bytes from an idle origin belong to no request: the connection is out of step, drop it.
      sock.on('data', e.drop);
      sock.once('end', e.drop);
      sock.once('close', e.drop);
      sock.once('error', e.drop);
      sock.unref();
      sock.resume();
      const fresh = byKey.get(key) ?? [];
      fresh.push(e);
      byKey.set(key, fresh);
      all.add(e);
    },
    closeSandbox(sandbox) {
      let n = 0;
      for (const e of [...all])
        if (e.sandbox === sandbox) {
          evict(e);
          n++;
        }
      return n;
    },
    size: () => all.size,
  };
}
