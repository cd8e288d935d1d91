// The two portals by the names the API and the registry's read models use, and by the value of the
// `portal` column in the sync tables (src/sync/ledger.ts's Portal).

export type Portal = 'caseware' | 'clientOnline';
export const portals: readonly Portal[] = ['caseware', 'clientOnline'];

/** The value of the `portal` column in sync tables for each portal. */
export const portalColumnValue = { caseware: 'caseware', clientOnline: 'client_online' } as const satisfies Record<
  Portal,
  string
>;

export function portalFromColumn(value: string): Portal {
  const portal = portals.find((candidate) => portalColumnValue[candidate] === value);
  if (!portal) throw new Error(`unknown portal "${value}" in the sync tables`);
  return portal;
}
