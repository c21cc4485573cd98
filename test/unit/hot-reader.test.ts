/**
 * The hot-path reader on PostgreSQL (src/db/hot-reader.ts) keeps concurrent reads on one connection
 * while it has room, so the driver batches them into one write and one backend wake-up, and spills to
 * its other connections only past READS_BEFORE_SPILL in flight. Each read asks its backend's pid.
 */
import { createHotReader, HotReader, READS_BEFORE_SPILL } from '../../src/db/hot-reader';
import { postgresTestUrl } from '../helpers/database';

// Skipped, and counted as skipped, on the SQLite pass: the reader exists only on PostgreSQL.
if (!postgresTestUrl) console.log('skipped: the hot-path reader is PostgreSQL\'s (TEST_DATABASE_URL); SQLite reads in-process');
const describeOnPostgres = postgresTestUrl ? describe : describe.skip;

describeOnPostgres('the hot-path reader', () => {
  let reader: HotReader;
  beforeEach(() => {
    reader = createHotReader(postgresTestUrl!, 4);
  });
  afterEach(() => reader.end());

  /** The distinct backends that served `count` reads sent at once. */
  const backendsFor = async (count: number) => {
    const rows = await Promise.all(Array.from({ length: count }, (_, i) => reader.first('select pg_backend_pid() as pid, $1::int as n', [i])));
    rows.forEach((row, i) => expect(row!.n).toBe(i));
    return new Set(rows.map((row) => row!.pid)).size;
  };

  it('serves as many concurrent reads as one connection takes on that one connection', async () => {
    expect(await backendsFor(10)).toBe(1);
    expect(await backendsFor(READS_BEFORE_SPILL)).toBe(1);
  });

  it('spills to its other connections once the first has READS_BEFORE_SPILL in flight, and to all four under more', async () => {
    expect(await backendsFor(READS_BEFORE_SPILL + 1)).toBe(2);
    expect(await backendsFor(READS_BEFORE_SPILL * 4 + 10)).toBe(4);
  });

  it('answers undefined for no row, and rejects a bad statement without harming the reads beside it', async () => {
    expect(await reader.first('select 1 as n where $1::int = 0', [1])).toBeUndefined();
    const [bad, good] = await Promise.allSettled([reader.first('select * from no_such_table where id = $1', [1]), reader.first('select $1::int as n', [7])]);
    expect(bad.status).toBe('rejected');
    expect(good).toEqual({ status: 'fulfilled', value: { n: 7 } });
  });
});
