import type { Knex } from 'knex';

// Outbound webhooks: endpoints, an outbox of events written in the same transaction as the change
// that caused them, and one delivery row per (event, endpoint) that a dispatcher leases and retries.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.string('id', 40).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('url', 2048).notNullable();
    t.string('description', 500).notNullable().defaultTo('');
    t.text('events').notNullable();
    t.boolean('enabled').notNullable();
    // Sealed (AES-GCM), not hashed: the server must sign with it. The previous secret keeps signing
    // beside the new one for 24 hours after a rotation.
    t.text('secret_sealed').notNullable();
    t.text('previous_secret_sealed').nullable();
    t.string('previous_secret_expires_at', 32).nullable();
    t.integer('consecutive_failures').notNullable().defaultTo(0);
    t.text('last_error').nullable();
    t.string('last_error_at', 32).nullable();
    t.string('disabled_reason', 500).nullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['user_id', 'created_at']);
  });

  await knex.schema.createTable('webhook_events', (t) => {
    t.string('id', 40).primary(); // msg_…, the stable webhook-id
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('type', 60).notNullable();
    t.text('payload').notNullable();
    t.string('created_at', 32).notNullable();
  });

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.string('id', 40).primary();
    t.string('event_id', 40).notNullable().references('webhook_events.id').onDelete('CASCADE');
    t.string('endpoint_id', 40).notNullable().references('webhook_endpoints.id').onDelete('CASCADE');
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('status', 16).notNullable(); // pending | succeeded | failed
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('next_attempt_at', 32).notNullable();
    // A dispatcher holds a delivery until then; one that dies mid-send lets it go when the lease ends.
    t.string('lease_until', 32).nullable();
    t.integer('last_status_code').nullable();
    t.integer('last_duration_ms').nullable();
    t.text('last_error').nullable();
    t.string('delivered_at', 32).nullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['status', 'next_attempt_at']);
    t.index(['endpoint_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['webhook_deliveries', 'webhook_events', 'webhook_endpoints']) await knex.schema.dropTableIfExists(table);
}
