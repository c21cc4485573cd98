import type { Knex } from 'knex';

/**
 * Token lineage (issue 15): revoking a token revokes every token made from it, through its
 * parent_token_id chain. An index makes the walk down a lineage one indexed read per generation; and
 * the tokens made from a token already revoked before this rule existed are revoked now, so no leaked
 * parent lives on through its children.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('personal_access_tokens', (t) => {
    t.index(['parent_token_id'], 'personal_access_tokens_parent_idx');
  });
  const now = new Date().toISOString();
  for (;;) {
    const orphans = await knex('personal_access_tokens as child')
      .join('personal_access_tokens as parent', 'parent.id', 'child.parent_token_id')
      .whereNull('child.revoked_at')
      .whereNotNull('parent.revoked_at')
      .pluck('child.id');
    if (orphans.length === 0) break;
    await knex('personal_access_tokens').whereIn('id', orphans).update({ revoked_at: now });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('personal_access_tokens', (t) => {
    t.dropIndex(['parent_token_id'], 'personal_access_tokens_parent_idx');
  });
}
