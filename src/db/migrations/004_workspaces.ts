import type { Knex } from 'knex';

// Workspaces and their runs. A run is claimed by exactly one worker (a conditional UPDATE on SQLite,
// FOR UPDATE SKIP LOCKED on PostgreSQL) and held under a lease, so a crashed worker's runs come back.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('workspaces', (t) => {
    t.string('id', 40).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('name', 200).notNullable();
    t.string('description', 1000).notNullable().defaultTo('');
    t.text('default_prompt').notNullable().defaultTo('');
    t.string('bound_token_id', 40).nullable().references('personal_access_tokens.id').onDelete('SET NULL');
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['user_id', 'created_at']);
  });

  await knex.schema.createTable('workspace_runs', (t) => {
    t.string('id', 40).primary();
    t.string('workspace_id', 40).notNullable().references('workspaces.id').onDelete('CASCADE');
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('status', 16).notNullable(); // QUEUED CLAIMED RUNNING SUCCEEDED FAILED CANCELED
    t.string('trigger', 24).notNullable().defaultTo('MANUAL');
    t.text('prompt').notNullable();
    t.text('overrides').notNullable().defaultTo('{}');
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('claimed_by', 80).nullable();
    t.string('lease_until', 32).nullable();
    t.text('effective_scopes').nullable();
    t.text('result_summary').nullable();
    t.text('error').nullable();
    t.string('queued_at', 32).notNullable();
    t.string('started_at', 32).nullable();
    t.string('finished_at', 32).nullable();
    t.string('updated_at', 32).notNullable();
    t.index(['status', 'queued_at']);
    t.index(['workspace_id', 'queued_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('workspace_runs');
  await knex.schema.dropTableIfExists('workspaces');
}
