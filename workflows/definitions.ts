import { defineSearchAttributeKey } from '@temporalio/common';
import { defineSignal } from '@temporalio/workflow';

/** Shared by the workflows and their starters (dispatcher, API, CLI). */
export const taskQueueDefault = 'portal-sync';

export interface RegistryChange {
  /** Id of the outbox event that announced the change; ids grow with every registry write. */
  eventId: number;
}

export const registryChangedSignal = defineSignal<[RegistryChange]>('registryChanged');

/** Readable in the Temporal Web UI: find a client's workflow by its number. */
export const clientNumberSearchAttribute = defineSearchAttributeKey('ClientNumber', 'KEYWORD');

export function clientWorkflowId(clientNumber: string): string {
  return `client-${clientNumber}`;
}

export function masterWorkflowId(master: { type: 'client' | 'contact'; id: number }): string {
  return `master-${master.type}-${master.id}`;
}
