import type { Knex } from 'knex';

// Billing through a provider adapter (the embedded `local` one by default): the account's plan and
// credits, hosted checkouts, payout onboarding and transfers of referral shares.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('billing_accounts', (t) => {
    t.string('user_id', 40).primary().references('users.id').onDelete('CASCADE');
    t.string('plan', 16).notNullable(); // free | pro
    t.string('subscription_status', 24).notNullable(); // none | active | canceled
    t.boolean('cancel_at_period_end').notNullable().defaultTo(false);
    t.string('current_period_end', 32).nullable();
    t.integer('credits').notNullable().defaultTo(0);
    t.string('payouts_status', 24).notNullable().defaultTo('incomplete'); // incomplete | pending_review | enabled | blocked
    t.boolean('charges_enabled').notNullable().defaultTo(false);
    t.string('updated_at', 32).notNullable();
  });

  await knex.schema.createTable('billing_checkouts', (t) => {
    t.string('id', 40).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('kind', 24).notNullable(); // pro_plan | credit_package | post
    t.string('post_id', 40).nullable();
    t.integer('credits').notNullable().defaultTo(0);
    t.integer('amount').notNullable();
    t.string('currency', 3).notNullable();
    t.string('status', 16).notNullable(); // open | completed | canceled
    t.string('success_url', 2048).notNullable();
    t.string('cancel_url', 2048).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('completed_at', 32).nullable();
    t.index(['user_id', 'created_at']);
  });

  await knex.schema.createTable('transfers', (t) => {
    t.string('id', 40).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.integer('amount').notNullable();
    t.string('currency', 3).notNullable();
    t.string('destination', 100).notNullable();
    t.string('description', 500).notNullable().defaultTo('');
    t.string('status', 16).notNullable();
    t.string('created_at', 32).notNullable();
    t.index(['user_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['transfers', 'billing_checkouts', 'billing_accounts']) await knex.schema.dropTableIfExists(table);
}
