import type { Knex } from 'knex';
import * as registry from './20261123000001_registry';
import * as masterLinks from './20261124000001_master_links';
import * as commitHorizon from './20261125000001_commit_horizon';
import * as loginLeases from './20261125000002_login_leases';
import * as portalHealth from './20261125000003_portal_health';
import * as offboardings from './20261125000010_offboardings';
import * as syncErrorAttempts from './20261201000001_sync_error_attempts';
import * as reconcile from './20261201000002_reconcile';
import * as rateBuckets from './20261201000003_rate_buckets';
import * as outboxNotify from './20261201000004_outbox_notify';
import * as apiTokens from './20261202000001_api_tokens';
import * as fileRequests from './20261202000010_file_requests';
import * as resyncRepairs from './20261204000001_resync_repairs';
import * as caseWareUserOwner from './20261204000002_caseware_user_owner';
import * as clientOnlineUnconfirmedRefs from './20261204000003_client_online_unconfirmed_refs';
import * as offboardingApprovalReason from './20261204000010_offboarding_approval_reason';
import * as offboardingStepRefusal from './20261204000011_offboarding_step_refusal';
import * as clientOnlineLogins from './20261204000020_client_online_logins';
import * as reconcileOutlook from './20261204000021_reconcile_outlook';
import * as portalHolds from './20261205000020_portal_holds';
import * as credentialsMailGuard from './20261205000021_credentials_mail_guard';
import * as fileRequestReminders from './20261206000010_file_request_reminders';
import * as credentialsMailReason from './20261206000020_credentials_mail_reason';
import * as adminRole from './20261206000030_admin_role';
import * as auditEvents from './20261206000031_audit_events';
import * as reconcileRequestedBy from './20261206000032_reconcile_requested_by';
import * as outboxClaimIndexes from './20261207000010_outbox_claim_indexes';
import * as outboxClaimedBy from './20261208000010_outbox_claimed_by';

type Migration = { up: (knex: Knex) => Promise<void>; down: (knex: Knex) => Promise<void> };

// Migrations are listed here rather than discovered on disk, so that they run the same from
// tsx, from tests and from a bundle.
const migrations: Record<string, Migration> = {
  '20261123000001_registry': registry,
  '20261124000001_master_links': masterLinks,
  '20261125000001_commit_horizon': commitHorizon,
  '20261125000002_login_leases': loginLeases,
  '20261125000003_portal_health': portalHealth,
  '20261125000010_offboardings': offboardings,
  '20261201000001_sync_error_attempts': syncErrorAttempts,
  '20261201000002_reconcile': reconcile,
  '20261201000003_rate_buckets': rateBuckets,
  '20261201000004_outbox_notify': outboxNotify,
  '20261202000001_api_tokens': apiTokens,
  '20261202000010_file_requests': fileRequests,
  '20261204000001_resync_repairs': resyncRepairs,
  '20261204000002_caseware_user_owner': caseWareUserOwner,
  '20261204000003_client_online_unconfirmed_refs': clientOnlineUnconfirmedRefs,
  '20261204000010_offboarding_approval_reason': offboardingApprovalReason,
  '20261204000011_offboarding_step_refusal': offboardingStepRefusal,
  '20261204000020_client_online_logins': clientOnlineLogins,
  '20261204000021_reconcile_outlook': reconcileOutlook,
  '20261205000020_portal_holds': portalHolds,
  '20261205000021_credentials_mail_guard': credentialsMailGuard,
  '20261206000010_file_request_reminders': fileRequestReminders,
  '20261206000020_credentials_mail_reason': credentialsMailReason,
  '20261206000030_admin_role': adminRole,
  '20261206000031_audit_events': auditEvents,
  '20261206000032_reconcile_requested_by': reconcileRequestedBy,
  '20261207000010_outbox_claim_indexes': outboxClaimIndexes,
  '20261208000010_outbox_claimed_by': outboxClaimedBy,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: () => Promise.resolve(Object.keys(migrations)),
  getMigrationName: (name) => name,
  getMigration: (name) => {
    const migration = migrations[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return Promise.resolve(migration);
  },
};
