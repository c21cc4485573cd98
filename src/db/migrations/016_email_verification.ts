import type { Knex } from 'knex';

/**
 * Email verification and the mail outbox (issue 15). A verification is a single-use token (stored as
 * its SHA-256) bound to the user and to the address it was sent to. Mail is written to the outbox in
 * the transaction of the change that causes it, and sent afterwards by the mail adapter (the log, or
 * SMTP when SMTP_URL is set), so no mail is lost to a crash and none is sent for a change rolled back.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('email_verified_at', 32).nullable();
  });
  await knex.schema.createTable('email_verifications', (t) => {
    t.string('token_hash', 64).primary();
    t.string('user_id', 40).notNullable().references('users.id').onDelete('CASCADE');
    t.string('email', 254).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('expires_at', 32).notNullable();
    t.string('used_at', 32).nullable();
    t.index(['user_id', 'created_at']);
  });
  await knex.schema.createTable('mail_outbox', (t) => {
    t.string('id', 40).primary();
    t.string('to', 254).notNullable();
    t.string('subject', 200).notNullable();
    t.text('text').notNullable();
    t.string('created_at', 32).notNullable();
    t.string('sent_at', 32).nullable();
    t.string('leased_until', 32).nullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('last_error', 500).nullable();
    t.index(['sent_at', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mail_outbox');
  await knex.schema.dropTableIfExists('email_verifications');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('email_verified_at');
  });
}
