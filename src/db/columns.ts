/**
 * The columns to write for a patch of record fields: each defined field named in `columns` becomes its
 * column; fields outside the map (ids, timestamps handled by the caller) are left out. `encode`
 * turns a field's value into its stored form (JSON text for lists).
 */
export function columnsOf(
  patch: object,
  columns: Record<string, string>,
  encode: Record<string, (value: unknown) => unknown> = {},
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(patch)) {
    const column = columns[field];
    if (value === undefined || !column) continue;
    row[column] = encode[field] ? encode[field](value) : value;
  }
  return row;
}
