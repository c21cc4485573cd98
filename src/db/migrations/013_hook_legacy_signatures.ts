import type { Knex } from 'knex';

/**
 * Inbound hooks take Standard Webhooks signatures (issue 15): the secret never travels. A rule whose
 * sender still uses the retired scheme (x-gpx-webhook-secret + x-gpx-signature) may opt in to it for 30
 * days from the first opt-in; legacy_signature_until is when that ends (null: never opted in).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspace_rules', (t) => {
    t.string('legacy_signature_until', 32).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspace_rules', (t) => {
    t.dropColumn('legacy_signature_until');
  });
}
