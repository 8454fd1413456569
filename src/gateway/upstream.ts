// Connections to the destination, only ever to addresses the SSRF guard has checked, and the
// byte-for-byte splice between the sandbox's socket and the destination's.
import { connect, type Socket } from 'node:net';

/** Try the checked addresses in order; the first that accepts wins. */
export function connectChecked(addresses: readonly string[], port: number, timeoutMs = 10_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let i = 0;
    let lastErr: Error = new Error('no address');
    const next = () => {
      if (i >= addresses.length) return reject(lastErr);
      const s = connect({ host: addresses[i++]!, port, allowHalfOpen: true, noDelay: true });
      const timer = setTimeout(() => s.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        lastErr = e;
        s.destroy();
        next();
      });
    };
    next();
  });
}

/** One direction with backpressure; a plain data/drain pair does less per chunk than pipe(). */
function relay(from: Socket, to: Socket): void {
  from.on('data', (c: Buffer) => { if (!to.write(c)) from.pause(); });
  to.on('drain', () => from.resume());
  from.once('end', () => to.end()); // carry the half-close
}

/**
 * Pipe both ways. `pipe` ends the destination when the source ends, which carries a half-close
 * (FIN) across while the other direction keeps flowing; an error on either side tears down both.
 */
export function splice(client: Socket, upstream: Socket, onClose: () => void, idleMs = 0): void {
  let open = 2;
  const closed = () => { if (--open === 0) onClose(); };
  const kill = () => { client.destroy(); upstream.destroy(); };
  client.on('error', kill);
  upstream.on('error', kill);
  client.once('close', () => { closed(); if (!upstream.destroyed && !upstream.readableEnded) upstream.destroy(); });
  upstream.once('close', () => { closed(); if (!client.destroyed && !client.readableEnded) client.destroy(); });
  if (idleMs > 0) {
    client.setTimeout(idleMs, kill);
    upstream.setTimeout(idleMs, kill);
  }
  relay(client, upstream);
  relay(upstream, client);
  client.resume();
}
