import type { Knex } from 'knex';

// Timestamps are ISO-8601 UTC strings (fixed width, so they sort and compare as text) on both
// SQLite and PostgreSQL; booleans are stored as booleans and normalised in the repositories.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.string('id', 40).primary();
    t.string('email', 254).notNullable().unique();
    t.string('name', 100).nullable();
    t.string('password_hash', 100).notNullable();
    t.string('role', 40).notNullable();
    t.boolean('is_platform_admin').notNullable().defaultTo(false);
    t.string('disabled_at', 32).nullable();
    t.text('totp_secret_enc').nullable();
    t.text('pending_totp_secret_enc').nullable();
    t.string('totp_enabled_at', 32).nullable();
    // Bumped on logout, password change and disable: every JWT carrying an older value is dead.
    t.integer('token_version').notNullable().defaultTo(0);
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
  });

  await knex.schema.createTable('totp_used_steps', (t) => {
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.bigInteger('time_step').notNullable();
    t.string('used_at', 32).notNullable();
    // The unique key is what makes a code single-use even when two requests race.
    t.primary(['user_id', 'time_step']);
  });

  await knex.schema.createTable('sessions', (t) => {
    t.string('id_hash', 64).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.boolean('two_factor_verified').notNullable().defaultTo(false);
    t.string('created_at', 32).notNullable();
    t.string('last_seen_at', 32).notNullable();
    t.string('expires_at', 32).notNullable();
    t.string('ip', 64).nullable();
    t.index(['user_id']);
  });

  await knex.schema.createTable('personal_access_tokens', (t) => {
    t.string('id', 40).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('name', 100).notNullable();
    t.string('token_hash', 64).notNullable().unique();
    t.string('display_hint', 40).notNullable();
    t.text('scopes').notNullable();
    t.string('role', 40).nullable();
    t.string('created_via', 16).notNullable();
    t.string('parent_token_id', 40).nullable();
    t.string('expires_at', 32).nullable();
    t.string('created_at', 32).notNullable();
    t.string('last_used_at', 32).nullable();
    t.string('last_used_ip', 64).nullable();
    t.string('revoked_at', 32).nullable();
    t.index(['user_id', 'created_at']);
  });

  await knex.schema.createTable('posts', (t) => {
    t.string('id', 40).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('title', 200).notNullable();
    t.text('body').notNullable();
    t.string('status', 16).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['user_id', 'created_at']);
  });

  await knex.schema.createTable('audit_events', (t) => {
    t.string('id', 40).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('type', 40).notNullable();
    t.string('token_id', 40).nullable();
    t.string('ip', 64).nullable();
    t.text('details').notNullable();
    t.string('created_at', 32).notNullable();
    t.index(['user_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['audit_events', 'posts', 'personal_access_tokens', 'sessions', 'totp_used_steps', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
