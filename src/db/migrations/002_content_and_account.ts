import type { Knex } from 'knex';

// Issue 4: the Content and Account surface, request usage, idempotency keys. Same conventions as
// 001: ISO-8601 string timestamps, prefixed string ids, JSON kept in text columns.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('posts', (t) => {
    t.text('audience_tags').notNullable().defaultTo('[]');
    t.string('pricing_model', 16).notNullable().defaultTo('none');
    t.integer('price_amount').nullable();
    t.string('price_currency', 3).nullable();
    t.string('publish_at', 32).nullable();
  });

  await knex.schema.createTable('places', (t) => {
    t.string('id', 40).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('name', 200).notNullable();
    t.string('address', 500).notNullable();
    t.double('latitude').notNullable();
    t.double('longitude').notNullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['user_id', 'created_at']);
  });

  await knex.schema.createTable('artifacts', (t) => {
    t.string('id', 40).primary();
    t.string('post_id', 40).notNullable().references('posts.id').onDelete('CASCADE');
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('name', 255).notNullable();
    t.string('content_type', 100).notNullable();
    t.integer('size_bytes').notNullable();
    t.string('sha256', 64).notNullable();
    t.binary('content').notNullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['post_id', 'created_at']);
  });

  await knex.schema.createTable('notification_preferences', (t) => {
    t.string('user_id', 40).primary().references('users.id').onDelete('CASCADE');
    t.boolean('paused_all').notNullable();
    t.boolean('reminders').notNullable();
    t.boolean('onboarding_tips').notNullable();
    t.boolean('product_updates').notNullable();
    t.string('updated_at', 32).notNullable();
  });

  await knex.schema.createTable('organizations', (t) => {
    t.string('id', 40).primary();
    t.string('name', 200).notNullable();
    t.string('created_by', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('created_at', 32).notNullable();
  });

  await knex.schema.createTable('organization_members', (t) => {
    t.string('organization_id', 40).notNullable().references('organizations.id').onDelete('CASCADE');
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('role', 40).notNullable();
    t.text('tags').notNullable().defaultTo('[]');
    t.string('joined_at', 32).notNullable();
    t.primary(['organization_id', 'user_id']);
    t.index(['user_id']);
  });

  await knex.schema.createTable('organization_invitations', (t) => {
    t.string('id', 40).primary();
    t.string('organization_id', 40).notNullable().references('organizations.id').onDelete('CASCADE');
    t.string('email', 254).notNullable();
    t.string('role', 40).notNullable();
    // Only the hash: the raw invitation token is shown once, to the inviter.
    t.string('token_hash', 64).notNullable().unique();
    t.string('invited_by', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('created_at', 32).notNullable();
    t.string('expires_at', 32).notNullable();
    t.string('accepted_at', 32).nullable();
    t.index(['organization_id', 'created_at']);
  });

  await knex.schema.createTable('referral_links', (t) => {
    t.string('id', 40).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('code', 64).notNullable().unique();
    t.string('target_type', 16).notNullable();
    t.string('target_id', 40).nullable();
    t.text('utm').notNullable();
    t.integer('visits').notNullable().defaultTo(0);
    t.string('last_visited_at', 32).nullable();
    t.string('created_at', 32).notNullable();
    t.index(['user_id', 'created_at']);
  });

  // One row per (user, credential, operation, hour); written in batches, never per request.
  await knex.schema.createTable('usage_counters', (t) => {
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('token_id', 40).notNullable(); // '' for sessions and JWTs
    t.string('operation_id', 80).notNullable();
    t.string('hour', 13).notNullable(); // 2026-11-23T21
    t.integer('count').notNullable();
    t.primary(['user_id', 'token_id', 'operation_id', 'hour']);
    t.index(['user_id', 'hour']);
  });

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.string('owner', 80).notNullable();
    t.string('key', 255).notNullable();
    t.string('operation_id', 80).notNullable();
    t.string('request_hash', 64).notNullable();
    t.integer('status_code').nullable(); // null while the first request is still running
    t.text('response_body').nullable();
    t.boolean('secret').notNullable().defaultTo(false);
    t.string('resource_id', 40).nullable();
    t.string('created_at', 32).notNullable();
    t.primary(['owner', 'key']);
    t.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['idempotency_keys', 'usage_counters', 'referral_links', 'organization_invitations',
    'organization_members', 'organizations', 'notification_preferences', 'artifacts', 'places']) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.schema.alterTable('posts', (t) => {
    t.dropColumns('audience_tags', 'pricing_model', 'price_amount', 'price_currency', 'publish_at');
  });
}
