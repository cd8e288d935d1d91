import { defineSearchAttributeKey } from '@temporalio/common';
import { defineSignal } from '@temporalio/workflow';

/** Shared by the workflows and their starters (dispatcher, API, CLI). */
export const taskQueueDefault = 'portal-sync';

export interface RegistryChange {
  /** Id of the newest outbox event delivered with this signal (ids are taken at insert, not at commit). */
  eventId: number;
  /**
   * The commit horizon when the events were delivered: every transaction with an id below it had
   * finished, so a sync that reads the registry after this signal sees all their changes.
   * Horizons never decrease. Absent from signals sent before the horizon existed.
   */
  horizon?: number;
}

export const registryChangedSignal = defineSignal<[RegistryChange]>('registryChanged');

/** Readable in the Temporal Web UI: find a client's workflow by its number. */
export const clientNumberSearchAttribute = defineSearchAttributeKey('ClientNumber', 'KEYWORD');

/**
 * Failure types the activities throw and the workflows' retry policies name. A set-up problem
 * (a role or group the portal lacks) and a record the registry no longer holds: retries cannot fix
 * either.
 */
export const configurationFailure = 'ConfigurationError';
export const registryRecordMissingFailure = 'RegistryRecordMissing';
/** A reconcile run that recorded itself failed; the workflow ends with it. */
export const reconcileFailedFailure = 'ReconcileFailed';

export function clientWorkflowId(clientNumber: string): string {
  return `client-${clientNumber}`;
}

export function masterWorkflowId(master: { type: 'client' | 'contact'; id: number }): string {
  return `master-${master.type}-${master.id}`;
}

/** The hourly reconcile's schedule; each run it starts is `reconcile-hourly-<time>`. */
export const reconcileScheduleId = 'reconcile-hourly';

export function reconcileWorkflowId(runKey: string): string {
  return `reconcile-${runKey}`;
}
