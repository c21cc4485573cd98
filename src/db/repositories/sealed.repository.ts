import type { Knex } from 'knex';

/** Every column that holds a value sealed with the data key (auth/seal.ts), by table. */
export const SEALED_COLUMNS = [
  { table: 'users', columns: ['totp_secret_enc', 'pending_totp_secret_enc'] },
  { table: 'webhook_endpoints', columns: ['secret_sealed', 'previous_secret_sealed'] },
  { table: 'workspace_rules', columns: ['hook_secret_sealed'] },
] as const;

export interface SealedValue {
  id: string;
  value: string;
}

/** Reads and rewrites sealed values for the re-seal command, a page at a time in id order. */
export function sealedRepository(db: Knex) {
  return {
    async page(table: string, column: string, afterId: string, limit: number): Promise<SealedValue[]> {
      return db(table).select({ id: 'id', value: column }).whereNotNull(column).where('id', '>', afterId).orderBy('id').limit(limit);
    },
    /**
     * Compare-and-set: writes the re-sealed value only if the row still holds the value that was read,
     * so a secret rotated meanwhile (a new TOTP enrolment, a webhook secret roll) is never overwritten.
     */
    async replace(table: string, column: string, id: string, from: string, to: string): Promise<boolean> {
      return (await db(table).where({ id, [column]: from }).update({ [column]: to })) === 1;
    },
  };
}
