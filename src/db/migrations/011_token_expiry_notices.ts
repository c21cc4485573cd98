import type { Knex } from 'knex';

/**
 * Expiry notices (issue 15): how far the owner of a token with an expiry has been told, so each notice
 * (token.expiring 7 days and 1 day before, token.expired after) goes out once, whichever instance's
 * job sees it first: 0 none yet, 1 the 7-day notice, 2 the 1-day notice, 3 expired.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('personal_access_tokens', (t) => {
    t.integer('expiry_notice').notNullable().defaultTo(0);
    t.index(['expires_at'], 'personal_access_tokens_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('personal_access_tokens', (t) => {
    t.dropIndex(['expires_at'], 'personal_access_tokens_expires_idx');
    t.dropColumn('expiry_notice');
  });
}
