import type { Knex } from 'knex';

export function totpStepsRepository(db: Knex) {
  return {
    /**
     * Claims a time step for a user. The primary key (user_id, time_step) makes this atomic: when two
     * requests race with the same code exactly one insert succeeds, on SQLite and PostgreSQL alike.
     */
    async claim(userId: string, timeStep: number, now: string): Promise<boolean> {
      const inserted = await db('totp_used_steps')
        .insert({ user_id: userId, time_step: timeStep, used_at: now })
        .onConflict(['user_id', 'time_step'])
        .ignore()
        .returning('time_step');
      return Array.isArray(inserted) && inserted.length > 0;
    },
    async pruneBefore(userId: string, timeStep: number): Promise<void> {
      await db('totp_used_steps').where({ user_id: userId }).andWhere('time_step', '<', timeStep).delete();
    },
  };
}

export type TotpStepsRepository = ReturnType<typeof totpStepsRepository>;
