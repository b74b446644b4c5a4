/** Output for people (a table on a terminal) or scripts (`--json`, or whenever stdout is not a TTY). */
export interface OutputOptions {
  json?: boolean;
}

export function jsonWanted(options: OutputOptions): boolean {
  return Boolean(options.json) || !process.stdout.isTTY;
}

export function print(value: unknown, options: OutputOptions, columns?: string[]): void {
  if (jsonWanted(options)) {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
    return;
  }
  const rows = Array.isArray(value) ? value : [value];
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  process.stdout.write(table(rows as Record<string, unknown>[], columns) + '\n');
}

export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  const cols = columns ?? Object.keys(rows[0]);
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}
