import type { Clock } from '../../src/core/clock';

export interface TestClock extends Clock {
  advance(seconds: number): void;
  set(date: Date): void;
}

/** Starts at the real time and moves only when told to. */
export function testClock(start = new Date()): TestClock {
  let now = start.getTime();
  const clock = (() => new Date(now)) as TestClock;
  clock.advance = (seconds) => {
    now += seconds * 1000;
  };
  clock.set = (date) => {
    now = date.getTime();
  };
  return clock;
}
