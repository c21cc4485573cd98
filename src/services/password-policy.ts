import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core';
import { ApiError } from '../core/errors';

/** bcrypt reads the first 72 bytes of a password and ignores the rest. */
export const MAX_PASSWORD_BYTES = 72;
/** zxcvbn's "safely unguessable" (score 3 of 4): ~10^8 guesses or more, offline fast-hash attacks aside. */
export const MIN_PASSWORD_SCORE = 3;

let estimator: ZxcvbnFactory | undefined;
/** zxcvbn-ts with its common-password and English dictionaries, loaded on first use (a few MB). */
function strength(): ZxcvbnFactory {
  if (!estimator) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const en = require('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
    estimator = new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations });
  }
  return estimator;
}

export interface PasswordRating {
  score: number;
  tooLong: boolean;
  acceptable: boolean;
  warning: string | null;
  suggestions: string[];
}

/**
 * The rules a new password meets, in one place for the server's refusal and the pages' strength meter
 * (checkPasswordStrength): no silent truncation (over 72 bytes is refused, never cut short), and nothing
 * common or easy to guess (the offline zxcvbn estimator, which also counts the account's own email and
 * name as guessable).
 */
export async function ratePassword(password: string, personal: string[]): Promise<PasswordRating> {
  const tooLong = Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
  const result: ZxcvbnResult = await strength().check(password, personal.filter(Boolean));
  const { warning, suggestions } = result.feedback;
  return { score: result.score, tooLong, acceptable: !tooLong && result.score >= MIN_PASSWORD_SCORE, warning: warning ?? null, suggestions };
}

/** `ratePassword`, refusing with a message that says what to change. */
export async function assertAcceptablePassword(password: string, personal: string[]): Promise<void> {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes > MAX_PASSWORD_BYTES) {
    throw new ApiError('password_too_long',
      `Passwords may be at most ${MAX_PASSWORD_BYTES} bytes (this one is ${bytes}): bcrypt reads no further, so the rest would not count. Choose a shorter passphrase.`,
      { max_bytes: MAX_PASSWORD_BYTES, bytes });
  }
  const { score, warning, suggestions } = await ratePassword(password, personal);
  if (score < MIN_PASSWORD_SCORE) {
    throw new ApiError('weak_password',
      `This password is too easy to guess${warning ? ` (${warning.replace(/\.$/, '')})` : ''}. ${suggestions.join(' ') || 'Use a longer passphrase of several uncommon words.'}`.trim(),
      { score, min_score: MIN_PASSWORD_SCORE, warning, suggestions });
  }
}
