import { parseDateTime } from '../../src/core/datetime';

it.each([
  '2027-10-09T23:59:59Z', '2027-10-09t23:59:59.123456789z', '2024-02-29T00:00:00+05:30', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59-23:59',
])('accepts %s, parsed to the instant it names', (text) => {
  const date = parseDateTime(text)!;
  expect(date).toBeInstanceOf(Date);
  expect(date.getTime()).toBe(new Date(text).getTime());
});

it.each([
  ['a leap second', '2027-10-09T23:59:60Z'], ['an offset beyond 23 hours', '2027-10-09T10:00:00+25:00'], ['year zero', '0000-01-01T00:00:00Z'],
  ['month zero', '2027-00-10T00:00:00Z'], ['day zero', '2027-01-00T00:00:00Z'], ['30 February', '2027-02-30T00:00:00Z'], ['29 February of a common year', '2027-02-29T00:00:00Z'],
  ['hour 24', '2027-01-01T24:00:00Z'], ['no offset', '2027-01-01T00:00:00'], ['a date alone', '2027-01-01'], ['a space for T', '2027-01-01 00:00:00Z'],
  ['six-digit years', '+275760-09-13T00:00:00Z'], ['offset without colon', '2027-01-01T00:00:00+0100'],
])('refuses %s (%s)', (_what, text) => {
  expect(parseDateTime(text)).toBeUndefined();
});
