import type { Knex } from 'knex';

// Rules that queue runs by themselves: on a schedule, on a signed inbound webhook, on a purchase.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('workspace_rules', (t) => {
    t.string('id', 40).primary();
    t.string('workspace_id', 40).notNullable().references('workspaces.id').onDelete('CASCADE');
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('name', 200).notNullable();
    t.string('trigger', 24).notNullable(); // SCHEDULE | WEBHOOK_EVENT | PURCHASE_SUCCEEDED
    t.string('cron', 120).nullable();
    t.string('timezone', 64).nullable();
    t.text('prompt_template').notNullable();
    t.integer('cooldown_seconds').notNullable().defaultTo(0);
    t.boolean('enabled').notNullable();
    // The inbound URL's path token is looked up by its hash; the shared secret is sealed (it keys an HMAC).
    t.string('hook_token_hash', 64).nullable().unique();
    t.text('hook_secret_sealed').nullable();
    t.string('next_fire_at', 32).nullable();
    t.string('last_fired_at', 32).nullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['workspace_id', 'created_at']);
    t.index(['trigger', 'next_fire_at']);
  });

  // Signatures already accepted, so a captured request cannot be replayed within the tolerance window.
  await knex.schema.createTable('workspace_hook_signatures', (t) => {
    t.string('rule_id', 40).notNullable().references('workspace_rules.id').onDelete('CASCADE');
    t.string('signature', 64).notNullable();
    t.string('seen_at', 32).notNullable();
    t.primary(['rule_id', 'signature']);
    t.index(['seen_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('workspace_hook_signatures');
  await knex.schema.dropTableIfExists('workspace_rules');
}
