import type { Knex } from 'knex';

// The Stripe adapter's ids on the billing account, and the Stripe events already applied (each once).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('billing_accounts', (t) => {
    t.string('stripe_customer_id', 64).nullable();
    t.string('stripe_account_id', 64).nullable();
  });
  await knex.schema.createTable('stripe_events', (t) => {
    t.string('id', 80).primary();
    t.string('type', 80).notNullable();
    t.string('received_at', 32).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('stripe_events');
  await knex.schema.alterTable('billing_accounts', (t) => t.dropColumns('stripe_customer_id', 'stripe_account_id'));
}
