/** Markdown tables (the suite prints one and appends it to bench/RESULTS.md). */

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const sep = header.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.map(esc).join(' | ')} |`).join('\n');
}
