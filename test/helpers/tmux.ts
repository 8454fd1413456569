// A real terminal for tests: a detached tmux session on a private socket, of a given size, running
// one command. Keys are typed into it and its screen is read back, as a user at a terminal would.
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { makeTempDir } from './tmp.js';

export const hasTmux = (): boolean => spawnSync('tmux', ['-V']).status === 0;

export interface Terminal {
  /** Types TEXT (literally) and Enter. */
  type(text: string): void;
  /** The screen and its scrollback, lines joined where tmux wrapped them. */
  screen(): string;
  /** Waits until the screen matches RE; returns the match. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  resize(cols: number, rows: number): void;
}

/** Single-quoted for sh. */
export const shq = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * Runs COMMAND (argv) in a COLS x ROWS terminal. When it exits, the pane shows `[exit N]` with its
 * exit status and stays open until the test ends (the server is killed then).
 */
export function terminal(t: TestContext, command: string[], cols: number, rows: number, env: Record<string, string> = {}): Terminal {
  const dir = makeTempDir('nemoclaw-tmux-');
  const socket = join(dir, 'sock');
  const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
  const script = `${command.map(shq).join(' ')}; echo "[exit $?]"; sleep 3600`;
  execFileSync('tmux', ['-S', socket, '-f', '/dev/null', 'new-session', '-d', '-x', String(cols), '-y', String(rows), 'sh', '-c', script], {
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  t.after(() => {
    spawnSync('tmux', ['-S', socket, 'kill-server'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-200');
  return {
    type: (text) => {
      tmux('send-keys', '-l', text);
      tmux('send-keys', 'Enter');
    },
    screen,
    waitFor: async (re, ms = 30_000) => {
      const end = Date.now() + ms;
      for (;;) {
        const m = screen().match(re);
        if (m) return m;
        if (Date.now() > end) throw new Error(`terminal: no ${re} within ${ms} ms; the screen:\n${screen()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    resize: (c, r) => {
      tmux('resize-window', '-x', String(c), '-y', String(r));
    },
  };
}
