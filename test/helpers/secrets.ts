import { generateKeys } from '../../src/core/config';

/** One set of keys for everything a test run starts, in-process or as a compiled server or worker. */
export const TEST_SECRETS = generateKeys();
