// Terminal output helpers: colour only on a TTY and never when NO_COLOR is set.
export const useColor = (stream: NodeJS.WriteStream = process.stdout): boolean =>
  !process.env.NO_COLOR && process.env.TERM !== 'dumb' && Boolean(stream.isTTY);

const wrap =
  (code: number) =>
  (s: string, stream?: NodeJS.WriteStream): string =>
    useColor(stream) ? `\x1b[${code}m${s}\x1b[0m` : s;

export const red = wrap(31);
export const green = wrap(32);
export const yellow = wrap(33);
export const cyan = wrap(36);
export const bold = wrap(1);
export const dim = wrap(2);

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
