// Text tables aligned the way istioctl's writers align them (Go's tabwriter): every column but
// the last is as wide as its widest cell plus `padding` spaces; trailing spaces are trimmed.

/** istioctl pads its tables with 5 spaces, except `proxy-config listeners` (1). */
export const DEFAULT_PADDING = 5;

function width(cell: string): number {
  // tabwriter counts runes, not UTF-16 units.
  return [...cell].length;
}

export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  padding = DEFAULT_PADDING,
): string {
  const lines = [header, ...rows];
  const columns = Math.max(...lines.map((line) => line.length));
  const widths: number[] = [];
  for (let column = 0; column < columns - 1; column++) {
    widths.push(Math.max(...lines.map((line) => width(line[column] ?? ""))) + padding);
  }
  let out = "";
  for (const line of lines) {
    let text = "";
    line.forEach((cell, column) => {
      const target = widths[column];
      text += target === undefined ? cell : cell + " ".repeat(target - width(cell));
    });
    out += `${text.trimEnd()}\n`;
  }
  return out;
}
