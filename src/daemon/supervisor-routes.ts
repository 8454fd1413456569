// The supervisor's part of the gateway daemon's control API, mounted under /v1/supervisor:
//   GET    /v1/supervisor/sandboxes          → { sandboxes: SupervisedStatus[], unknown: string | null }
//   PUT    /v1/supervisor/sandboxes/<name>   { digest } → { result, status }   (start / retag / restart)
//   DELETE /v1/supervisor/sandboxes/<name>   → { stopped }
import type { IncomingMessage } from 'node:http';
import type { Supervisor } from '../supervisor/supervisor.js';

export type ExtraRoute = (req: IncomingMessage, parts: string[]) => Promise<[number, unknown] | undefined>;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 16 * 1024) {
        req.destroy();
        reject(new Error('body too large'));
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        resolve(typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {});
      } catch {
        resolve({});
      }
    });
    req.on('error', reject);
  });
}

export function supervisorRoutes(sup: Supervisor): ExtraRoute {
  return async (req, parts) => {
    if (parts[0] !== 'v1' || parts[1] !== 'supervisor' || parts[2] !== 'sandboxes' || parts.length > 4) return undefined;
    const name = parts[3];
    if (name !== undefined && !NAME.test(name)) return [400, { error: 'bad sandbox name' }];
    if (req.method === 'GET' && !name) {
      await sup.ready();
      return [200, { sandboxes: sup.list(), unknown: sup.unknownReason() }];
    }
    if (req.method === 'PUT' && name) {
      const b = await body(req);
      if (typeof b.digest !== 'string' || !DIGEST.test(b.digest)) return [400, { error: 'digest must be sha256:<64 hex>' }];
      await sup.ready();
      try {
        return [200, await sup.ensure(name, b.digest)];
      } catch (e) {
        return [422, { error: (e as Error).message, status: sup.get(name) ?? null }];
      }
    }
    if (req.method === 'DELETE' && name) {
      await sup.ready();
      return [200, { stopped: await sup.stop(name) }];
    }
    return undefined;
  };
}
