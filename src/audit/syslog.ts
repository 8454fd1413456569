// Shipping audit records to the host's syslog/journal, so evidence leaves the gateway's disk (and,
// with a forwarding syslog daemon, the machine). /dev/log is a unix *datagram* socket, which
// node:dgram cannot open (udp4/udp6 only); no maintained package does it without a native build,
// so we call libc through koffi, already our FFI for libseccomp. Sends never block: a full or
// absent socket drops the message and counts it; the local audit file stays the record.
import koffi from 'koffi';
import { hostname } from 'node:os';

export type SyslogFormat = 'rfc3164' | 'rfc5424';

export interface SyslogTarget {
  path: string;
  format: SyslogFormat;
}

export interface SyslogHealth {
  path: string;
  format: SyslogFormat;
  connected: boolean;
  sent: number;
  dropped: number;
  error?: string;
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
/** LOG_AUTHPRIV: security records, readable by root only on most hosts. */
const FACILITY = 10;
const APP = 'nemoclaw-gateway';

interface Libc {
  socket: (domain: number, type: number, proto: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  send: (fd: number, buf: Buffer, len: number, flags: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  errno: () => number;
}

let cached: Libc | undefined;
/** libc's socket calls (exported for tests, which bind their own datagram socket). */
export function libc(): Libc {
  if (cached) return cached;
  const c = koffi.load('libc.so.6');
  const errnoLocation = c.func('int *__errno_location(void)');
  cached = {
    socket: c.func('int socket(int, int, int)'),
    connect: c.func('int connect(int, const void *, uint32_t)'),
    bind: c.func('int bind(int, const void *, uint32_t)'),
    send: c.func('intptr_t send(int, const void *, size_t, int)'),
    recv: c.func('intptr_t recv(int, _Out_ void *, size_t, int)'),
    close: c.func('int close(int)'),
    errno: () => koffi.decode(errnoLocation(), 'int') as number,
  };
  return cached;
}

/** struct sockaddr_un for a path (at most 107 bytes). */
export function sockaddrUn(path: string): Buffer {
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  if (Buffer.byteLength(path) > 107) throw new Error(`syslog socket path too long: ${path}`);
  addr.write(path, 2);
  return addr;
}

/** A non-blocking unix datagram socket (for the sender, and for tests that bind one). */
export function datagramSocket(): number {
  const fd = libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket(AF_UNIX, SOCK_DGRAM) failed: errno ${libc().errno()}`);
  return fd;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** One syslog message: `<PRI>` header in the chosen RFC's format, then the JSON record. */
export function formatSyslog(format: SyslogFormat, severity: number, time: number, msg: string, host = hostname()): string {
  const pri = `<${FACILITY * 8 + severity}>`;
  if (format === 'rfc5424') return `${pri}1 ${new Date(time).toISOString()} ${host} ${APP} ${process.pid} audit - ${msg}`;
  const d = new Date(time);
  const stamp = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `${pri}${stamp} ${host} ${APP}[${process.pid}]: ${msg}`;
}

export interface SyslogSender {
  send(severity: number, time: number, msg: string): void;
  health(): SyslogHealth;
  close(): void;
}

/** Connects lazily and again at most once a second after a failure (journald restarts, say). */
export function openSyslog(target: SyslogTarget, now: () => number = Date.now): SyslogSender {
  const c = libc();
  const addr = sockaddrUn(target.path);
  const h: SyslogHealth = { path: target.path, format: target.format, connected: false, sent: 0, dropped: 0 };
  let fd = -1;
  let nextTry = 0;
  const disconnect = (error: string) => {
    if (fd >= 0) c.close(fd);
    fd = -1;
    h.connected = false;
    h.error = error;
    nextTry = now() + 1000;
  };
  const connect = (): boolean => {
    if (fd >= 0) return true;
    if (now() < nextTry) return false;
    fd = datagramSocket();
    if (c.connect(fd, addr, addr.length) !== 0) {
      disconnect(`connect ${target.path}: errno ${c.errno()}`);
      return false;
    }
    h.connected = true;
    delete h.error;
    return true;
  };
  return {
    send(severity, time, msg) {
      if (!connect()) {
        h.dropped++;
        return;
      }
      const buf = Buffer.from(formatSyslog(target.format, severity, time, msg));
      if (c.send(fd, buf, buf.length, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        const errno = c.errno();
        h.dropped++;
        // EAGAIN (11) / ENOBUFS (105): the reader is behind; keep the socket. Anything else: reconnect.
        if (errno !== 11 && errno !== 105) disconnect(`send: errno ${errno}`);
        return;
      }
      h.sent++;
    },
    health: () => ({ ...h }),
    close: () => {
      if (fd >= 0) c.close(fd);
      fd = -1;
    },
  };
}

/** `--audit-syslog` / NEMOCLAW_AUDIT_SYSLOG: "1" means /dev/log, otherwise an absolute socket path. */
export function syslogTarget(spec: string | undefined, format: string | undefined): SyslogTarget | undefined {
  if (spec === undefined || spec === '' || spec === '0') return undefined;
  const path = spec === '1' ? '/dev/log' : spec;
  if (!path.startsWith('/')) throw new Error(`audit syslog target must be an absolute socket path or 1 (for /dev/log), not ${spec}`);
  const f = format ?? 'rfc3164';
  if (f !== 'rfc3164' && f !== 'rfc5424') throw new Error(`audit syslog format must be rfc3164 or rfc5424, not ${f}`);
  return { path, format: f };
}
