import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // One CaseWare user belongs to one live ledger identity at a time. A deleted contact's revoked
  // identity kept the id of a user that a new contact with the same email has adopted since; the
  // reconcile then took that user's activity as the old identity's and deactivated it.
  await knex.raw(`
    update portal_identities stale
       set remote_id = null
     where stale.portal = 'caseware'
       and stale.record_type = 'contact'
       and stale.access = 'revoked'
       and exists (
         select 1 from portal_identities live
          where live.portal = stale.portal
            and live.record_type = 'contact'
            and live.remote_id = stale.remote_id
            and live.access = 'active'
            and live.id <> stale.id)`);
}

export async function down(): Promise<void> {
  // The ids given up belong to the identities that hold them now.
}
