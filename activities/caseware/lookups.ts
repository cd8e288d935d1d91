import { ApplicationFailure } from '@temporalio/common';
import type { CaseWarePort } from './types';
import { configurationFailure } from '../../workflows/definitions';

/** How long a worker trusts the role and group ids it looked up: they change rarely, if ever. */
const lookupTtlMs = 10 * 60_000;

/**
 * Role and group ids, cached per worker: fewer calls per attempt make an attempt likelier to get
 * through a flaky portal, and concurrent syncs share one look-up in flight rather than each asking
 * CaseWare.
 */
export interface CaseWareLookupCache {
  cached: Map<string, { value: string | undefined; until: number }>;
  inFlight: Map<string, Promise<string | undefined>>;
}

export function createLookupCache(): CaseWareLookupCache {
  return { cached: new Map(), inFlight: new Map() };
}

/** The settings and cache the look-ups need. */
export interface CaseWareLookupContext {
  lookups: CaseWareLookupCache;
  contactRoleName: string;
  contactGroupName?: string;
}

/** The role contacts are shared under and the optional contact group, looked up when first needed. */
export interface ContactIds {
  role(): Promise<string>;
  group(): Promise<string | undefined>;
}

async function lookupOnce(cache: CaseWareLookupCache, key: string, lookup: () => Promise<string | undefined>): Promise<string | undefined> {
  const hit = cache.cached.get(key);
  if (hit && hit.until > Date.now()) return hit.value;
  let pending = cache.inFlight.get(key);
  if (!pending) {
    pending = lookup().finally(() => cache.inFlight.delete(key));
    cache.inFlight.set(key, pending);
  }
  const value = await pending;
  if (value !== undefined) cache.cached.set(key, { value, until: Date.now() + lookupTtlMs });
  return value;
}

async function contactRoleId(context: CaseWareLookupContext, caseware: CaseWarePort): Promise<string> {
  const roleName = context.contactRoleName;
  const roleId = await lookupOnce(context.lookups, `role:${roleName}`, async () => (await caseware.findRoleByName(roleName))?.CWGuid);
  if (!roleId) {
    throw ApplicationFailure.nonRetryable(
      `CaseWare Cloud has no role named "${roleName}"; set CASEWARE_CONTACT_ROLE to an existing contact role`,
      configurationFailure,
    );
  }
  return roleId;
}

async function contactGroupId(context: CaseWareLookupContext, caseware: CaseWarePort): Promise<string | undefined> {
  const groupName = context.contactGroupName;
  if (!groupName) return undefined;
  const groupId = await lookupOnce(context.lookups, `group:${groupName}`, async () => (await caseware.findGroupByName(groupName))?.CWGuid);
  if (!groupId) {
    throw ApplicationFailure.nonRetryable(
      `CaseWare Cloud has no contact group named "${groupName}"; create it or unset CASEWARE_CONTACT_GROUP`,
      configurationFailure,
    );
  }
  return groupId;
}

/** The role and group ids, looked up the first time a call needs them (and cached per worker). */
export function contactIdsFor(context: CaseWareLookupContext, caseware: CaseWarePort): ContactIds {
  let role: Promise<string> | undefined;
  let group: Promise<string | undefined> | undefined;
  return {
    role: () => (role ??= contactRoleId(context, caseware)),
    group: () => (group ??= contactGroupId(context, caseware)),
  };
}
