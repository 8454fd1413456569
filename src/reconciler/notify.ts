// --notify URL: one JSON POST per event worth a human's attention (a failure, drift healed, a
// recovery). Best effort: a receiver that is down never fails a tick.
export type NotifyEvent = 'failure' | 'drift_healed' | 'recovery';

export interface Notification {
  event: NotifyEvent;
  time: string;
  source: string;
  commit: string | null;
  reason: string;
  message: string;
}

export async function notify(url: string | null, n: Notification, log: (line: string) => void): Promise<void> {
  if (!url) return;
  try {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(n),
      signal: AbortSignal.timeout(10_000),
    });
    await r.arrayBuffer();
    if (!r.ok) log(`notify: ${new URL(url).origin} answered ${r.status}`);
  } catch (e) {
    log(`notify: cannot reach ${new URL(url).origin}: ${(e as Error).message}`);
  }
}
