import type { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { clientNumberSearchAttribute } from '../workflows/definitions';
import { fileRequestStageSearchAttribute } from '../workflows/file-request-definitions';
import { offboardingClientsSearchAttribute, offboardingStageSearchAttribute } from '../workflows/offboarding-definitions';

/** Every custom search attribute the workflows set: record numbers and stages, never personal data. */
export const searchAttributeKeys = [
  clientNumberSearchAttribute,
  offboardingStageSearchAttribute,
  offboardingClientsSearchAttribute,
  fileRequestStageSearchAttribute,
];

/** Temporal's IndexedValueType numbers for the kinds we use. */
const indexedValueType: Partial<Record<SearchAttributeType, number>> = { KEYWORD: 2, KEYWORD_LIST: 7 };

/** Registers each search attribute on a server; one that already exists counts as registered. */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  for (const key of searchAttributeKeys) {
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { [key.name]: indexedValueType[key.type] ?? 2 } });
    } catch (error) {
      if (!/already exists/i.test(String(error))) throw error;
    }
  }
}
