// Plain-text building blocks of the CLI's human output. Record ids and client numbers only, as the
// API answers them: nothing here adds personal data.

const portalNames: Record<string, string> = { caseware: 'CaseWare Cloud', clientOnline: 'Client Online' };

export function portalName(portal: string): string {
  return portalNames[portal] ?? portal;
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** An ISO timestamp as a local date and time to the second, or '-' when there is none. */
export function localDateTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** localDateTime with the time zone it is in ("2027-02-01 00:59:59 CET"): a due time is read against a clock. */
export function localDateTimeWithZone(iso: string | null | undefined): string {
  const local = localDateTime(iso);
  if (!iso || local === iso) return local;
  const zone = new Intl.DateTimeFormat('en-GB', { timeZoneName: 'short' }).formatToParts(new Date(iso)).find((part) => part.type === 'timeZoneName');
  return zone ? `${local} ${zone.value}` : local;
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/**
 * Rows under a header, each column as wide as its widest cell. A row may carry detail lines, shown
 * indented under it (a step's effects per portal).
 */
export function table(headers: readonly string[], rows: readonly (readonly string[] | { cells: readonly string[]; details: readonly string[] })[], indent = '  '): string[] {
  const cellsOf = (row: (typeof rows)[number]) => ('cells' in row ? row.cells : row);
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (cellsOf(row)[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent + cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd();
  const detailIndent = `${indent}${' '.repeat((widths[0] ?? 0) + 2)}`;
  return [
    line(headers),
    ...rows.flatMap((row) => ('cells' in row ? [line(row.cells), ...row.details.map((detail) => `${detailIndent}${detail}`)] : [line(row)])),
  ];
}
