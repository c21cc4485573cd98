import type { Knex } from 'knex';

/**
 * An organization's maximum lifetime for the tokens that act on it (issue 15), in days; null: no
 * policy (personal tokens may still never expire, the seeds' default).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organizations', (t) => {
    t.integer('max_token_lifetime_days').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organizations', (t) => {
    t.dropColumn('max_token_lifetime_days');
  });
}
