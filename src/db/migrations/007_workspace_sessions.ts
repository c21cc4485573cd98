import type { Knex } from 'knex';

// Interactive workspace sessions: each holds a controller slot and costs credits to start.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('workspace_sessions', (t) => {
    t.string('id', 40).primary();
    t.string('workspace_id', 40).notNullable().references('workspaces.id').onDelete('CASCADE');
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('status', 16).notNullable(); // open | closed
    t.integer('credits_charged').notNullable();
    t.string('started_at', 32).notNullable();
    t.string('closed_at', 32).nullable();
    t.index(['user_id', 'status']);
    t.index(['status']);
    t.index(['workspace_id', 'started_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('workspace_sessions');
}
