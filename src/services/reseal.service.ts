import { seal, sealedUnderCurrent, unseal } from '../auth/seal';
import type { Keyring } from '../core/keyring';
import type { Repositories } from '../db/repositories';
import { SEALED_COLUMNS } from '../db/repositories/sealed.repository';

export interface ResealReport {
  column: string;
  resealed: number;
  alreadyCurrent: number;
  /** Changed by someone else between the read and the write; read again by a second run. */
  skipped: number;
}

const PAGE = 500;

/**
 * Moves every sealed value to the data key ring's current key (`npm run keys:reseal`), so the previous
 * key can leave DATA_KEY. Safe to run while the service runs and to run again: values under the current
 * key are left alone, and each write is a compare-and-set on the value read. A value that no key of the
 * ring opens stops the run with the table, column and row named, before anything else is written.
 */
export async function resealAll(repos: Repositories, ring: Keyring, progress: (line: string) => void = () => undefined): Promise<ResealReport[]> {
  const reports: ResealReport[] = [];
  for (const { table, columns } of SEALED_COLUMNS) {
    for (const column of columns) {
      const report: ResealReport = { column: `${table}.${column}`, resealed: 0, alreadyCurrent: 0, skipped: 0 };
      let after = '';
      for (;;) {
        const rows = await repos.sealed.page(table, column, after, PAGE);
        for (const row of rows) {
          if (sealedUnderCurrent(ring, row.value)) {
            report.alreadyCurrent += 1;
            continue;
          }
          let plain: string;
          try {
            plain = unseal(ring, row.value);
          } catch (err) {
            throw new Error(`${table}.${column} of ${row.id}: ${(err as Error).message}`);
          }
          if (await repos.sealed.replace(table, column, row.id, row.value, seal(ring, plain))) report.resealed += 1;
          else report.skipped += 1;
        }
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1]!.id;
        progress(`${report.column}: ${report.resealed + report.alreadyCurrent + report.skipped} values so far`);
      }
      progress(`${report.column}: ${report.resealed} re-sealed, ${report.alreadyCurrent} already under the current key${report.skipped ? `, ${report.skipped} changed meanwhile (run again)` : ''}`);
      reports.push(report);
    }
  }
  return reports;
}
