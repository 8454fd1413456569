// Terminal styling. Views receive a `Style` (like Terraform's views receive `colorize`) and stay
// pure functions of (data, style); the command picks the style for the stream it writes to:
// colour only on a TTY and never when NO_COLOR is set or TERM is dumb.
export type Paint = (s: string) => string;

export interface Style {
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
  bold: Paint;
  dim: Paint;
}

const same: Paint = (s) => s;
export const plainStyle: Style = { red: same, green: same, yellow: same, cyan: same, bold: same, dim: same };

const sgr =
  (code: number): Paint =>
  (s) =>
    `\x1b[${code}m${s}\x1b[0m`;
export const ansiStyle: Style = { red: sgr(31), green: sgr(32), yellow: sgr(33), cyan: sgr(36), bold: sgr(1), dim: sgr(2) };

export const useColor = (stream: NodeJS.WriteStream = process.stdout): boolean =>
  !process.env.NO_COLOR && process.env.TERM !== 'dumb' && Boolean(stream.isTTY);

export function styleFor(stream: NodeJS.WriteStream = process.stdout): Style {
  return useColor(stream) ? ansiStyle : plainStyle;
}

// Shorthands for commands that write one coloured line to a stream (stdout by default).
const on =
  (k: keyof Style) =>
  (s: string, stream?: NodeJS.WriteStream): string =>
    styleFor(stream)[k](s);
export const red = on('red');
export const green = on('green');
export const yellow = on('yellow');
export const cyan = on('cyan');
export const bold = on('bold');
export const dim = on('dim');

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
