// A record's table row: the same fields under their snake_case column names. Where a row maps to
// its record by renaming alone, the row type is derived from the record and one function maps it,
// so that a field added to the record cannot be forgotten in a hand-written row type or mapper.

/** `lastSeenAt` → `last_seen_at`. */
export type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

/** The row of a record whose columns are its fields in snake_case. */
export type RowOf<T> = { [K in keyof T & string as SnakeCase<K>]: T[K] };

const camelCase = (column: string) => column.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());

/**
 * The record of a row read with exactly the record's columns (select them by name: every column the
 * row holds becomes a field).
 */
export function fromRow<T>(row: RowOf<T>): T {
  return Object.fromEntries(Object.entries(row).map(([column, value]) => [camelCase(column), value])) as T;
}

/** The columns of a record's fields, in their order: what to select for `fromRow`. */
export function columnsOf<T>(fields: readonly (keyof T & string)[]): SnakeCase<keyof T & string>[] {
  return fields.map((field) => field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`) as SnakeCase<keyof T & string>);
}
