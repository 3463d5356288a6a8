/**
 * Sums of the samples of the named metrics in Prometheus text format (all label sets together). Reads
 * line by line with string operations only: the text is the API's own, but stays linear whatever it holds.
 */
export function sumMetrics(text: string, names: readonly string[]): Record<string, number> {
  const sums: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const wanted = new Set(names);
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const end = brace >= 0 && brace < space ? brace : space;
    if (end <= 0) continue;
    const name = line.slice(0, end);
    if (!wanted.has(name)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sums[name] = (sums[name] ?? 0) + value;
  }
  return sums;
}
