// Connections to the destination, only ever to addresses the SSRF guard has checked, and the
// byte-for-byte splice between the sandbox's socket and the destination's.
import { spawn, type ChildProcess } from 'node:child_process';
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

/**
 * Bulk tunnels move to nemoclaw-pump (a native relay) after `afterBytes`. One object is shared by
 * all tunnels of a gateway: `active` counts running pumps, and at `max` further tunnels stay in
 * Node (slower, still correct), so a sandbox opening many bulk tunnels cannot make the gateway
 * start a process and 2 MiB of buffers for each.
 */
export interface PumpOptions {
  binary: string;
  afterBytes: number;
  max: number;
  active: number;
}

export interface SpliceOptions {
  idleMs?: number;
  pump?: PumpOptions | null;
}

/** A running tunnel: its byte counts (Node's and the pump's) and a way to end it. */
export interface Tunnel {
  bytesOut(): number;
  bytesIn(): number;
  /** Which relay carried the tunnel at the end: Node, or nemoclaw-pump after the hand-over. */
  relay(): 'node' | 'pump';
  close(): void;
}

/**
 * Pipe both ways. An EOF on one side is carried across as end() (a FIN) while the other
 * direction keeps flowing; an error on either side tears down both.
 *
 * A tunnel starts in Node (a plain data/drain pair with backpressure, cheaper per chunk than
 * pipe()). Once either direction has carried `pump.afterBytes`, the two sockets are handed to
 * nemoclaw-pump, which moves the rest with 1 MiB reads and writes, one thread per direction: a
 * Node relay reads 64 KiB at a time and reaches about half of loopback speed on a small machine.
 */
export function splice(client: Socket, upstream: Socket, onClose: () => void, opts: SpliceOptions = {}): Tunnel {
  const idleMs = opts.idleMs ?? 0;
  let open = 2;
  let pump: ChildProcess | null = null;
  let pumped = { up: 0, down: 0 };
  let handingOff = false;
  const closed = () => {
    if (--open === 0) onClose();
  };
  const kill = () => {
    pump?.kill('SIGKILL');
    client.destroy();
    upstream.destroy();
  };
  client.on('error', kill);
  upstream.on('error', kill);
  client.once('close', () => {
    closed();
    if (!upstream.destroyed && !upstream.readableEnded && !pump) upstream.destroy();
  });
  upstream.once('close', () => {
    closed();
    if (!client.destroyed && !client.readableEnded && !pump) client.destroy();
  });
  if (idleMs > 0) {
    client.setTimeout(idleMs, kill);
    upstream.setTimeout(idleMs, kill);
  }

  const relays: (() => void)[] = [];
  const relay = (from: Socket, to: Socket) => {
    let carried = 0;
    const onData = (c: Buffer) => {
      carried += c.length;
      if (!to.write(c)) from.pause();
      if (opts.pump && !handingOff && carried >= opts.pump.afterBytes && opts.pump.active < opts.pump.max) void handOff(opts.pump);
    };
    const onDrain = () => {
      if (!handingOff) from.resume();
    };
    const onEnd = () => to.end(); // carry the half-close
    from.on('data', onData);
    to.on('drain', onDrain);
    from.once('end', onEnd);
    relays.push(() => {
      from.off('data', onData);
      to.off('drain', onDrain);
      from.off('end', onEnd);
    });
  };

  const handOff = async (p: PumpOptions) => {
    // Half-closed tunnels stay in Node: the pump would see the EOF again and shut twice.
    if (client.readableEnded || upstream.readableEnded || client.writableEnded || upstream.writableEnded) return;
    handingOff = true;
    p.active++; // taken before the first await, so concurrent hand-offs cannot overshoot max
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        p.active--;
      }
    };
    for (const detach of relays) detach();
    const pendingUp = freeze(client);
    const pendingDown = freeze(upstream);
    if (pendingUp.length) upstream.write(Buffer.concat(pendingUp));
    if (pendingDown.length) client.write(Buffer.concat(pendingDown));
    await Promise.all([drained(client), drained(upstream)]);
    if (client.destroyed || upstream.destroyed) {
      release();
      return;
    }
    client.setTimeout(0);
    upstream.setTimeout(0);
    const child = spawn(p.binary, [String(idleMs), String(process.pid)], { stdio: [client, upstream, 'pipe'] });
    pump = child;
    let report = '';
    child.stderr!.on('data', (d: Buffer) => {
      report += d;
    });
    child.on('error', () => {
      release();
      kill();
    });
    child.on('close', () => {
      release();
      try {
        const r = JSON.parse(report.trim().split('\n').pop() ?? '{}') as { up?: number; down?: number };
        pumped = { up: r.up ?? 0, down: r.down ?? 0 };
      } catch {
        /* killed before it reported: counts stay at what Node saw */
      }
      client.destroy();
      upstream.destroy();
    });
  };

  relay(client, upstream);
  relay(upstream, client);
  client.resume();
  return {
    bytesOut: () => upstream.bytesWritten + pumped.up,
    bytesIn: () => upstream.bytesRead + pumped.down,
    relay: () => (pump ? 'pump' : 'node'),
    close: kill,
  };
}

/**
 * Stop a socket from reading and take what Node already buffered. pause() alone lets Node keep
 * reading into its buffer up to the high-water mark, and read() would start the handle again; a
 * byte read by Node after the hand-off would never reach the pump. So the handle's reading is
 * stopped directly and _read is disabled on this socket (both are Node internals; the socket is
 * never read by Node again).
 */
function freeze(s: Socket): Buffer[] {
  s.pause();
  const internal = s as unknown as { _handle?: { reading?: boolean; readStop?: () => number }; _read: (n: number) => void };
  if (internal._handle?.reading) {
    internal._handle.reading = false;
    internal._handle.readStop?.();
  }
  internal._read = () => {};
  const out: Buffer[] = [];
  for (let c = s.read() as Buffer | null; c !== null; c = s.read() as Buffer | null) out.push(c);
  return out;
}

function drained(s: Socket): Promise<void> {
  if (s.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
