#!/usr/bin/env node
// Offline check of a GetPaidX personal access token's shape and checksum (docs/token-format.md), for
// secret scanners and for anyone deciding whether a string found in the wild is worth reporting.
// Usage: node scripts/pat-checksum.mjs gpx_pat_… [more…]   Exit 0 when every value is well-formed.
// Standalone on purpose: no import from the project, so it can be copied into a scanner as it is.
import { crc32 } from 'node:zlib';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PATTERN = /^gpx_pat_[0-9A-Za-z]{36}$/;

/** The last 6 characters: CRC-32 (IEEE) of everything before them, as unsigned, in base 62, zero-padded. */
function checksum(body) {
  let rest = crc32(body) >>> 0;
  let out = '';
  while (rest > 0) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out.padStart(6, '0');
}

const values = process.argv.slice(2);
if (values.length === 0) {
  console.error('usage: node scripts/pat-checksum.mjs gpx_pat_… [more…]');
  process.exit(2);
}
let allGood = true;
for (const value of values) {
  const shown = `${value.slice(0, 12)}…`;
  if (!PATTERN.test(value)) {
    console.log(`${shown}  not a GetPaidX PAT (expected gpx_pat_ and 36 base62 characters)`);
    allGood = false;
  } else if (checksum(value.slice(0, -6)) !== value.slice(-6)) {
    console.log(`${shown}  bad checksum: a mistyped or made-up value, not a token`);
    allGood = false;
  } else {
    console.log(`${shown}  well-formed: it may be a live token; report it with POST /api/credentials/revoke`);
  }
}
process.exit(allGood ? 0 : 1);
