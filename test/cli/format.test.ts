import { afterEach, expect, test } from 'vitest';
import { localDateTimeWithZone } from '../../src/cli/format';

// A due time is read against a clock: it prints in the user's time zone, and names it.

const zone = process.env.TZ;
afterEach(() => {
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

test('a due time prints in the local time zone, with its name', () => {
  process.env.TZ = 'Europe/Amsterdam';
  expect(localDateTimeWithZone('2027-01-31T23:59:59.999Z')).toBe('2027-02-01 00:59:59 CET');
  expect(localDateTimeWithZone('2027-07-31T23:59:59.999Z')).toBe('2027-08-01 01:59:59 CEST');
  process.env.TZ = 'UTC';
  expect(localDateTimeWithZone('2027-01-31T23:59:59.999Z')).toBe('2027-01-31 23:59:59 UTC');
  expect(localDateTimeWithZone(null)).toBe('-');
});
