import type { Knex } from 'knex';

/**
 * Delegation made visible (issue 15). A workspace run acts with its bound token's grant, which may be
 * more than its caller holds: `workspaces.delegable` is the owner's consent to that (off by default:
 * a caller must hold the bound token's grant itself). Each run records who triggered it (a session, a
 * JWT, a PAT, or the owner's schedule, hook or purchase rule) and, once it starts, the token it acted as.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspaces', (t) => {
    t.boolean('delegable').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('workspace_runs', (t) => {
    t.string('triggered_by_kind', 16).nullable();
    t.string('triggered_by_id', 40).nullable();
    t.string('acting_token_id', 40).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspace_runs', (t) => {
    t.dropColumns('triggered_by_kind', 'triggered_by_id', 'acting_token_id');
  });
  await knex.schema.alterTable('workspaces', (t) => {
    t.dropColumn('delegable');
  });
}
