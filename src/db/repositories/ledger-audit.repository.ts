import type { Knex } from 'knex';
import { USER_BALANCE_KINDS } from './ledger.repository';

export interface LedgerCheck {
  name: string;
  description: string;
  /** Up to 20 offending rows; empty when the check holds. */
  violations: Array<Record<string, unknown>>;
}

const SAMPLE = 20;
const userKinds = [...USER_BALANCE_KINDS];

/**
 * Every invariant of the ledger, checked over the whole database (`npm run ledger:check`). Each write
 * already checks its own transaction; this proves the whole history, so a bug or a hand edit that
 * slipped past shows up.
 */
export async function auditLedger(db: Knex): Promise<LedgerCheck[]> {
  const check = async (name: string, description: string, query: Knex.QueryBuilder | Knex.Raw): Promise<LedgerCheck> => {
    const rows = (await query) as unknown;
    const list = (Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows) as Array<Record<string, unknown>>;
    return { name, description, violations: list.slice(0, SAMPLE) };
  };
  return Promise.all([
    check('transactions_balance', 'every transaction sums to zero in each currency',
      db('ledger_entries').select('transaction_id', 'currency').sum({ total: 'amount' }).groupBy('transaction_id', 'currency').havingRaw('SUM(amount) <> 0').limit(SAMPLE)),
    check('transactions_have_entries', 'every transaction has at least two entries',
      db('ledger_transactions as t').leftJoin('ledger_entries as e', 'e.transaction_id', 't.id').select('t.id').count({ entries: 'e.seq' })
        .groupBy('t.id').havingRaw('COUNT(e.seq) < 2').limit(SAMPLE)),
    check('entries_match_account_currency', 'no entry mixes currencies with its account',
      db('ledger_entries as e').join('ledger_accounts as a', 'a.id', 'e.account_id').whereRaw('e.currency <> a.currency')
        .select('e.seq', 'e.account_id', 'e.currency', 'a.currency as account_currency').limit(SAMPLE)),
    check('balances_equal_entries', 'each balance equals the sum of its entries',
      db('ledger_accounts as a').leftJoin('ledger_entries as e', 'e.account_id', 'a.id').select('a.id', 'a.balance').sum({ entries: 'e.amount' })
        .groupBy('a.id', 'a.balance').havingRaw('a.balance <> COALESCE(SUM(e.amount), 0)').limit(SAMPLE)),
    check('running_balances', 'each entry records the balance its account held after it',
      db.select('*').from(db('ledger_entries').select('seq', 'account_id', 'balance_after')
        .select(db.raw('SUM(amount) OVER (PARTITION BY account_id ORDER BY seq) AS running')).as('r'))
        .whereRaw('running <> balance_after').limit(SAMPLE)),
    check('user_balances_not_negative', 'no user balance went below zero except through a refund or a dispute (available and credits only)',
      db('ledger_entries as e').join('ledger_accounts as a', 'a.id', 'e.account_id').join('ledger_transactions as t', 't.id', 'e.transaction_id')
        .whereIn('a.kind', userKinds).where('e.amount', '<', 0).where('e.balance_after', '<', 0)
        .where((q) => q.whereNotIn('t.kind', ['refund', 'dispute']).orWhereNotIn('a.kind', ['available', 'credits']))
        .select('e.seq', 'e.account_id', 't.kind', 'e.amount', 'e.balance_after').limit(SAMPLE)),
    check('in_flight_matches_pending_transfers', 'money in flight equals the pending transfers, per user and currency',
      db.raw(`SELECT a.user_id, a.currency, a.balance, COALESCE(p.total, 0) AS pending_transfers
        FROM ledger_accounts a
        LEFT JOIN (SELECT user_id, currency, SUM(amount) AS total FROM transfers WHERE status = 'pending' GROUP BY user_id, currency) p
          ON p.user_id = a.user_id AND p.currency = a.currency
        WHERE a.kind = 'in_flight' AND a.balance <> COALESCE(p.total, 0)
        UNION ALL
        SELECT p.user_id, p.currency, 0, p.total
        FROM (SELECT user_id, currency, SUM(amount) AS total FROM transfers WHERE status = 'pending' GROUP BY user_id, currency) p
        WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.kind = 'in_flight' AND a.user_id = p.user_id AND a.currency = p.currency)
        LIMIT ${SAMPLE}`)),
    check('settled_transfers_posted', 'each paid transfer was settled and each failed one reversed in the ledger, once',
      db('transfers as tr').leftJoin('ledger_transactions as t', (j) => j.on('t.reference_id', 'tr.id').andOnVal('t.reference_type', 'transfer'))
        .whereIn('tr.status', ['paid', 'failed']).where('tr.pre_ledger', false)
        .select('tr.id', 'tr.status')
        .count({ reserve: db.raw("CASE WHEN t.kind = 'transfer_reserve' THEN 1 END") })
        .count({ settle: db.raw("CASE WHEN t.kind = 'transfer_settle' THEN 1 END") })
        .count({ reversal: db.raw("CASE WHEN t.kind = 'transfer_reversal' THEN 1 END") })
        .groupBy('tr.id', 'tr.status')
        .havingRaw("COUNT(CASE WHEN t.kind = 'transfer_reserve' THEN 1 END) <> 1 OR (tr.status = 'paid' AND (COUNT(CASE WHEN t.kind = 'transfer_settle' THEN 1 END) <> 1 OR COUNT(CASE WHEN t.kind = 'transfer_reversal' THEN 1 END) <> 0)) OR (tr.status = 'failed' AND (COUNT(CASE WHEN t.kind = 'transfer_reversal' THEN 1 END) <> 1 OR COUNT(CASE WHEN t.kind = 'transfer_settle' THEN 1 END) <> 0))")
        .limit(SAMPLE)),
    check('completed_checkouts_posted', 'each completed checkout was posted to the ledger once',
      db('billing_checkouts as c').leftJoin('ledger_transactions as t', (j) => j.on('t.reference_id', 'c.id').andOnIn('t.kind', ['sale', 'purchase']))
        .where({ 'c.status': 'completed', 'c.pre_ledger': false }).select('c.id').count({ posted: 't.id' }).groupBy('c.id').havingRaw('COUNT(t.id) <> 1').limit(SAMPLE)),
  ]);
}
