import type { Knex } from 'knex';

/**
 * Sudo mode (issue 15): when a browser session last proved its password or TOTP code. Sign-in sets it;
 * POST /api/auth/reauthenticate moves it. Sessions from before this column count from their sign-in
 * (created_at), which is what the column would have said.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sessions', (t) => {
    t.string('authenticated_at', 32).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sessions', (t) => {
    t.dropColumn('authenticated_at');
  });
}
