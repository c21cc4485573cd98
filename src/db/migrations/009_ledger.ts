import type { Knex } from 'knex';

/**
 * Money as a double-entry ledger (docs/billing.md):
 * - ledger_accounts: one row per balance (a user's available / pending / in-flight money or credits per
 *   currency; the platform's revenue, provider clearing and credit issuance); `balance` is kept in the
 *   same transaction as the entries that change it, and must always equal their sum.
 * - ledger_transactions: one row per movement, with a unique `key` so a cause (a sale, a settlement, a
 *   transfer's reserve …) is posted at most once.
 * - ledger_entries: signed amounts in minor units, summing to zero per currency within a transaction,
 *   with the account's running balance after each one. Entries and transactions are append-only: the
 *   database itself refuses UPDATE and DELETE (a correction is a new, reversing transaction).
 * Credits move from the billing_accounts.credits column into the ledger, with an opening balance.
 */
export async function up(knex: Knex): Promise<void> {
  const postgres = knex.client.config.client === 'pg';

  await knex.schema.createTable('ledger_accounts', (t) => {
    t.string('id', 120).primary();
    t.string('user_id', 40).nullable().index();
    t.string('kind', 24).notNullable();
    t.string('currency', 16).notNullable();
    t.bigInteger('balance').notNullable().defaultTo(0);
    t.string('created_at', 32).notNullable();
  });
  await knex.schema.createTable('ledger_transactions', (t) => {
    t.string('id', 40).primary();
    t.string('key', 200).notNullable().unique();
    t.string('kind', 32).notNullable();
    t.string('reference_type', 32).notNullable();
    t.string('reference_id', 80).notNullable();
    t.string('created_at', 32).notNullable();
    t.index(['reference_type', 'reference_id']);
  });
  await knex.schema.createTable('ledger_entries', (t) => {
    t.increments('seq').primary();
    t.string('transaction_id', 40).notNullable().references('ledger_transactions.id');
    t.string('account_id', 120).notNullable().references('ledger_accounts.id');
    t.string('currency', 16).notNullable();
    t.bigInteger('amount').notNullable();
    t.bigInteger('balance_after').notNullable();
    t.string('cause', 32).notNullable();
    t.string('created_at', 32).notNullable();
    t.index(['transaction_id']);
    t.index(['account_id', 'seq']);
    t.check('?? <> 0', ['amount'], 'ledger_entries_amount_nonzero');
  });

  if (postgres) {
    await knex.raw(`CREATE FUNCTION ledger_append_only() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION '% is append-only: post a reversing transaction instead', TG_TABLE_NAME; END $$ LANGUAGE plpgsql`);
    for (const table of ['ledger_entries', 'ledger_transactions']) {
      await knex.raw(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ledger_append_only()`);
      await knex.raw(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()`);
    }
  } else {
    for (const table of ['ledger_entries', 'ledger_transactions']) {
      for (const action of ['UPDATE', 'DELETE']) {
        await knex.raw(`CREATE TRIGGER ${table}_no_${action.toLowerCase()} BEFORE ${action} ON ${table}
          BEGIN SELECT RAISE(ABORT, '${table} is append-only: post a reversing transaction instead'); END`);
      }
    }
  }

  // A completed sale of a post: who earned what, and when the pending earnings become available.
  await knex.schema.createTable('sales', (t) => {
    t.string('checkout_id', 40).primary().references('billing_checkouts.id');
    t.string('post_id', 40).notNullable();
    t.string('seller_id', 40).notNullable().index();
    t.string('buyer_id', 40).notNullable();
    t.string('referrer_id', 40).nullable();
    t.string('referral_link_id', 40).nullable();
    t.bigInteger('amount').notNullable();
    t.string('currency', 3).notNullable();
    t.bigInteger('seller_amount').notNullable();
    t.bigInteger('fee_amount').notNullable();
    t.bigInteger('referral_amount').notNullable();
    t.string('available_at', 32).notNullable();
    t.string('settled_at', 32).nullable();
    t.string('created_at', 32).notNullable();
    t.index(['settled_at', 'available_at']);
  });

  await knex.schema.alterTable('billing_checkouts', (t) => {
    // Who earns from a post's checkout is fixed when it is created: the post or link may be gone by
    // the time the provider says paid.
    t.string('seller_id', 40).nullable();
    t.string('referrer_id', 40).nullable();
    t.string('referral_link_id', 40).nullable();
    t.string('provider_payment_id', 80).nullable().index();
    t.bigInteger('refunded_amount').notNullable().defaultTo(0);
    t.bigInteger('disputed_amount').notNullable().defaultTo(0);
    // Completed before the ledger existed: no ledger transaction backs them (ledger:check knows).
    t.boolean('pre_ledger').notNullable().defaultTo(false);
  });
  await knex('billing_checkouts').where({ status: 'completed' }).update({ pre_ledger: true });

  await knex.schema.alterTable('transfers', (t) => {
    t.string('failure_reason', 500).nullable();
    t.string('provider_transfer_id', 80).nullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('lease_until', 32).nullable();
    t.string('updated_at', 32).nullable();
    t.boolean('pre_ledger').notNullable().defaultTo(false);
    t.index(['status', 'lease_until']);
  });
  await knex('transfers').update({ pre_ledger: true, updated_at: knex.ref('created_at') });

  // The local provider's own record of the payouts it made, keyed by the idempotency key it was sent.
  await knex.schema.createTable('local_payouts', (t) => {
    t.string('idempotency_key', 80).primary();
    t.string('user_id', 40).notNullable();
    t.bigInteger('amount').notNullable();
    t.string('currency', 3).notNullable();
    t.string('created_at', 32).notNullable();
  });

  // Provider events, each applied once, recorded in the same transaction as their effects.
  await knex.schema.createTable('provider_events', (t) => {
    t.string('provider', 16).notNullable();
    t.string('id', 120).notNullable();
    t.string('type', 80).notNullable();
    t.string('outcome', 200).notNullable();
    t.string('received_at', 32).notNullable();
    t.primary(['provider', 'id']);
  });
  await knex.raw(`INSERT INTO provider_events (provider, id, type, outcome, received_at)
    SELECT 'stripe', id, type, 'applied', received_at FROM stripe_events`);
  await knex.schema.dropTable('stripe_events');

  await knex.schema.alterTable('billing_accounts', (t) => {
    t.string('stripe_subscription_id', 64).nullable();
  });

  // Credits held so far become an opening balance in the ledger.
  const holders = await knex('billing_accounts').whereNot('credits', 0).select('user_id', 'credits', 'updated_at');
  for (const [index, holder] of holders.entries()) {
    const credits = Number(holder.credits);
    const now = new Date().toISOString();
    const transactionId = `ltx_opening${index}`;
    const issued = 'platform:credits_issued:credits';
    const own = `user:${holder.user_id}:credits:credits`;
    await knex('ledger_accounts').insert({ id: issued, user_id: null, kind: 'credits_issued', currency: 'credits', balance: 0, created_at: now }).onConflict('id').ignore();
    await knex('ledger_accounts').insert({ id: own, user_id: holder.user_id, kind: 'credits', currency: 'credits', balance: credits, created_at: now });
    await knex('ledger_accounts').where({ id: issued }).update({ balance: knex.raw('balance - ?', [credits]) });
    const issuedAfter = Number((await knex('ledger_accounts').where({ id: issued }).first()).balance);
    await knex('ledger_transactions').insert({ id: transactionId, key: `opening_balance:${holder.user_id}:credits`, kind: 'opening_balance', reference_type: 'user', reference_id: holder.user_id, created_at: now });
    await knex('ledger_entries').insert([
      { transaction_id: transactionId, account_id: issued, currency: 'credits', amount: -credits, balance_after: issuedAfter, cause: 'opening_balance', created_at: now },
      { transaction_id: transactionId, account_id: own, currency: 'credits', amount: credits, balance_after: credits, cause: 'opening_balance', created_at: now },
    ]);
  }
  await knex.schema.alterTable('billing_accounts', (t) => t.dropColumn('credits'));
}

export async function down(): Promise<void> {
  throw new Error('009_ledger cannot be rolled back: ledger entries are never deleted.');
}
