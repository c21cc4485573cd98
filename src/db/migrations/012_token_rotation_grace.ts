import type { Knex } from 'knex';

/**
 * Rotation with a grace overlap (issue 15): after `POST /api/tokens/{id}/rotate` with grace_seconds,
 * the value it replaced keeps working until previous_expires_at, so the scripts using it can switch
 * without an outage. Its own last use is kept apart from the new value's, so the owner sees which script
 * has not switched yet. One previous value at most: rotating again ends it at once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('personal_access_tokens', (t) => {
    t.string('previous_token_hash', 64).nullable();
    t.string('previous_expires_at', 32).nullable();
    t.string('previous_last_used_at', 32).nullable();
    t.string('previous_last_used_ip', 64).nullable();
    t.string('rotated_at', 32).nullable();
    t.unique(['previous_token_hash'], { indexName: 'personal_access_tokens_previous_hash_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('personal_access_tokens', (t) => {
    t.dropUnique(['previous_token_hash'], 'personal_access_tokens_previous_hash_unique');
    t.dropColumns('previous_token_hash', 'previous_expires_at', 'previous_last_used_at', 'previous_last_used_ip', 'rotated_at');
  });
}
