import type { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { clientNumberSearchAttribute } from '../workflows/definitions';
import { fileRequestStageSearchAttribute } from '../workflows/file-request-definitions';
import { offboardingClientsSearchAttribute, offboardingPortalsSearchAttribute, offboardingStageSearchAttribute } from '../workflows/offboarding-definitions';

/** Every custom search attribute the workflows set: record numbers and stages, never personal data. */
export const searchAttributeKeys = [
  clientNumberSearchAttribute,
  offboardingStageSearchAttribute,
  offboardingClientsSearchAttribute,
  offboardingPortalsSearchAttribute,
  fileRequestStageSearchAttribute,
];

/** Temporal's IndexedValueType numbers for the kinds we use. */
const indexedValueType: Partial<Record<SearchAttributeType, number>> = { KEYWORD: 2, KEYWORD_LIST: 7 };

/** gRPC's PERMISSION_DENIED: a Temporal Cloud API key or certificate may not manage the namespace. */
const permissionDenied = 7;

/**
 * Registers each search attribute on a server; one that already exists counts as registered.
 * Where we may not register them (Temporal Cloud), they must exist already: the namespace's own
 * list says whether they do, and an error names the ones to create.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  for (const key of searchAttributeKeys) {
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { [key.name]: indexedValueType[key.type] ?? 2 } });
    } catch (error) {
      if (/already exists/i.test(String(error))) continue;
      if ((error as { code?: unknown }).code !== permissionDenied) throw error;
      return await expectSearchAttributes(connection, namespace);
    }
  }
}

async function expectSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = searchAttributeKeys.filter((key) => !(key.name in (customAttributes ?? {})));
  if (missing.length === 0) return;
  throw new Error(
    `the search attributes ${missing.map((key) => `${key.name} (${key.type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword'})`).join(', ')} ` +
      `are missing in namespace ${namespace}, and this connection may not create them: create them first (Temporal Cloud UI or tcld)`,
  );
}
