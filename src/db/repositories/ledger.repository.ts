import type { Knex } from 'knex';
import { newId } from '../../core/ids';
import { Page, pageOf, Window } from '../page';

/** A user's balances: money available to transfer, money not yet settled, money on its way out, credits. */
export const USER_BALANCE_KINDS = ['available', 'pending', 'in_flight', 'credits'] as const;
/** The platform's side: its revenue, the provider's clearing account, and where credits come from and go. */
export const PLATFORM_ACCOUNT_KINDS = ['revenue', 'clearing', 'credits_issued', 'credits_spent'] as const;
export type UserBalanceKind = (typeof USER_BALANCE_KINDS)[number];
export type PlatformAccountKind = (typeof PLATFORM_ACCOUNT_KINDS)[number];
export type LedgerAccountKind = UserBalanceKind | PlatformAccountKind;

/** Why each line moved: shown to users beside every line of their balance. */
export type EntryCause =
  | 'sale' | 'fee' | 'referral_share' | 'settlement' | 'transfer' | 'reversal' | 'refund' | 'dispute'
  | 'purchase' | 'credits_purchased' | 'credits_spent' | 'opening_balance';

export type TransactionKind =
  | 'sale' | 'purchase' | 'settlement' | 'transfer_reserve' | 'transfer_settle' | 'transfer_reversal'
  | 'refund' | 'dispute' | 'credits_spent' | 'opening_balance';

/** Credits are a currency of their own in the ledger, so they never mix with money. */
export const CREDITS = 'credits';

export interface LedgerAccountRef {
  id: string;
  userId: string | null;
  kind: LedgerAccountKind;
  currency: string;
}

export const ledgerAccount = {
  user: (userId: string, kind: UserBalanceKind, currency: string): LedgerAccountRef =>
    ({ id: `user:${userId}:${kind}:${currency}`, userId, kind, currency }),
  platform: (kind: PlatformAccountKind, currency: string): LedgerAccountRef =>
    ({ id: `platform:${kind}:${currency}`, userId: null, kind, currency }),
};

export interface EntryInput {
  account: LedgerAccountRef;
  /** Minor units; negative takes value from the account, positive gives it. */
  amount: number;
  cause: EntryCause;
}

export interface PostInput {
  /** At most one transaction is ever posted per key (a sale, a settlement, a transfer's reserve …). */
  key: string;
  kind: TransactionKind;
  reference: { type: string; id: string };
  entries: EntryInput[];
  /**
   * User balances this transaction may leave below zero. Only refunds and disputes of money already
   * paid out do this, and the balance then shows as owed; everything else is refused.
   */
  mayOverdraw?: ReadonlyArray<UserBalanceKind>;
  now: string;
}

/** A debit that would take a user balance below zero: nothing was written. */
export class LedgerOverdraft extends Error {
  constructor(readonly accountId: string, readonly balance: number, readonly amount: number) {
    super(`${accountId} holds ${balance}; taking ${-amount} would leave it below zero`);
    this.name = 'LedgerOverdraft';
  }
}

/** A transaction that breaks an invariant of the ledger: a bug, never a user's mistake. */
export class LedgerInvariantError extends Error {
  constructor(message: string) {
    super(`ledger invariant broken: ${message}`);
    this.name = 'LedgerInvariantError';
  }
}

export interface LedgerLine {
  seq: number;
  transactionId: string;
  transactionKind: TransactionKind;
  reference: { type: string; id: string };
  balance: UserBalanceKind;
  currency: string;
  amount: number;
  balanceAfter: number;
  cause: EntryCause;
  createdAt: string;
}

export interface UserBalance {
  kind: UserBalanceKind;
  currency: string;
  balance: number;
}

const LINE_COLUMNS = [
  'e.seq', 'e.transaction_id', 't.kind as transaction_kind', 't.reference_type', 't.reference_id', 'a.kind as balance',
  'e.currency', 'e.amount', 'e.balance_after', 'e.cause', 'e.created_at',
];

const isUserKind = (kind: LedgerAccountKind): kind is UserBalanceKind => (USER_BALANCE_KINDS as readonly string[]).includes(kind);

/** The checks every transaction must pass before anything is written; a failure is a bug in the caller. */
function checkShape(input: PostInput): void {
  if (input.entries.length < 2) throw new LedgerInvariantError(`${input.key} has fewer than two entries`);
  const sums = new Map<string, number>();
  for (const { account, amount } of input.entries) {
    if (!Number.isSafeInteger(amount) || amount === 0) throw new LedgerInvariantError(`${input.key}: ${amount} is not a non-zero integer amount`);
    sums.set(account.currency, (sums.get(account.currency) ?? 0) + amount);
  }
  for (const [currency, sum] of sums) {
    if (sum !== 0) throw new LedgerInvariantError(`${input.key} does not balance in ${currency} (sums to ${sum})`);
  }
}

export function ledgerRepository(db: Knex) {
  async function postInTransaction(trx: Knex, input: PostInput): Promise<{ posted: boolean; transactionId: string }> {
    const transactionId = newId('ltx');
    const inserted = await trx('ledger_transactions')
      .insert({ id: transactionId, key: input.key, kind: input.kind, reference_type: input.reference.type, reference_id: input.reference.id, created_at: input.now })
      .onConflict('key').ignore().returning('id');
    if (inserted.length === 0) {
      const existing = await trx('ledger_transactions').where({ key: input.key }).first('id');
      return { posted: false, transactionId: existing.id };
    }

    const accounts = new Map<string, { ref: LedgerAccountRef; delta: number }>();
    for (const entry of input.entries) {
      const slot = accounts.get(entry.account.id) ?? { ref: entry.account, delta: 0 };
      if (slot.ref.currency !== entry.account.currency || slot.ref.kind !== entry.account.kind) {
        throw new LedgerInvariantError(`${entry.account.id} is named with two currencies or kinds`);
      }
      slot.delta += entry.amount;
      accounts.set(entry.account.id, slot);
    }
    await trx('ledger_accounts')
      .insert([...accounts.values()].map(({ ref }) => ({ id: ref.id, user_id: ref.userId, kind: ref.kind, currency: ref.currency, balance: 0, created_at: input.now })))
      .onConflict('id').ignore();

    // Balances change in one fixed order (by account id), so two transactions never wait on each
    // other in opposite orders. The non-negative condition is part of the UPDATE itself: concurrent
    // debits of one balance serialise on its row, and the second sees the first's result.
    const startOf = new Map<string, number>();
    for (const [id, { ref, delta }] of [...accounts.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const guarded = isUserKind(ref.kind) && !(input.mayOverdraw ?? []).includes(ref.kind);
      const update = trx('ledger_accounts').where({ id });
      if (guarded && delta < 0) update.andWhereRaw('balance + ? >= 0', [delta]);
      const rows: Array<{ balance: string | number }> = await update.update({ balance: trx.raw('balance + ?', [delta]) }, ['balance']);
      if (rows.length === 0) {
        const current = await trx('ledger_accounts').where({ id }).first('balance');
        throw new LedgerOverdraft(id, Number(current?.balance ?? 0), delta);
      }
      startOf.set(id, Number(rows[0]!.balance) - delta);
    }

    const running = new Map(startOf);
    await trx('ledger_entries').insert(input.entries.map((entry) => {
      const after = running.get(entry.account.id)! + entry.amount;
      running.set(entry.account.id, after);
      return {
        transaction_id: transactionId, account_id: entry.account.id, currency: entry.account.currency, amount: entry.amount,
        balance_after: after, cause: entry.cause, created_at: input.now,
      };
    }));

    // Read back what was written, in the same transaction: it balances per currency, and each
    // balance's last entry carries the balance the account now holds.
    const sums: Array<{ currency: string; total: string | number }> = await trx('ledger_entries').where({ transaction_id: transactionId })
      .groupBy('currency').select('currency').sum({ total: 'amount' });
    for (const row of sums) {
      if (Number(row.total) !== 0) throw new LedgerInvariantError(`${input.key} was written unbalanced in ${row.currency}`);
    }
    for (const id of accounts.keys()) {
      const [account, last] = await Promise.all([
        trx('ledger_accounts').where({ id }).first('balance'),
        trx('ledger_entries').where({ account_id: id }).orderBy('seq', 'desc').first('balance_after'),
      ]);
      if (Number(account.balance) !== Number(last.balance_after)) {
        throw new LedgerInvariantError(`${id} holds ${account.balance} but its entries end at ${last.balance_after}`);
      }
    }
    return { posted: true, transactionId };
  }

  return {
    /**
     * Posts one balanced transaction, at most once per key, in the caller's transaction (or its own).
     * Throws LedgerOverdraft, with nothing written, when a user balance would go below zero.
     */
    async post(input: PostInput): Promise<{ posted: boolean; transactionId: string }> {
      checkShape(input);
      // Inside the caller's transaction this is a savepoint: a refused post leaves nothing behind even
      // when the caller catches the refusal and goes on.
      return db.transaction((trx) => postInTransaction(trx, input));
    },

    async balance(account: LedgerAccountRef): Promise<number> {
      const row = await db('ledger_accounts').where({ id: account.id }).first('balance');
      return Number(row?.balance ?? 0);
    },

    async userBalances(userId: string): Promise<UserBalance[]> {
      const rows = await db('ledger_accounts').where({ user_id: userId }).select('kind', 'currency', 'balance').orderBy(['currency', 'kind']);
      return rows.map((r) => ({ kind: r.kind, currency: r.currency, balance: Number(r.balance) }));
    },

    /** A user's ledger lines, newest first; `window.after` is a line's seq. */
    userLines(userId: string, window: Window): Promise<Page<LedgerLine>> {
      const filtered = () => db('ledger_entries as e').join('ledger_accounts as a', 'a.id', 'e.account_id')
        .join('ledger_transactions as t', 't.id', 'e.transaction_id').where('a.user_id', userId);
      return pageOf(filtered, LINE_COLUMNS, [{ column: 'e.seq', order: 'desc' }], window, (r) => ({
        seq: Number(r.seq), transactionId: r.transaction_id, transactionKind: r.transaction_kind,
        reference: { type: r.reference_type, id: r.reference_id }, balance: r.balance, currency: r.currency,
        amount: Number(r.amount), balanceAfter: Number(r.balance_after), cause: r.cause, createdAt: r.created_at,
      }));
    },

    /** Transactions posted for one reference (a checkout, a transfer), oldest first. */
    async transactionsFor(reference: { type: string; id: string }): Promise<Array<{ id: string; key: string; kind: TransactionKind }>> {
      return db('ledger_transactions').where({ reference_type: reference.type, reference_id: reference.id }).orderBy('created_at').select('id', 'key', 'kind');
    },
  };
}

export type LedgerRepository = ReturnType<typeof ledgerRepository>;
