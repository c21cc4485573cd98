/**
 * npm run keys: prints a fresh JWT_SECRET, DATA_KEY and INTERNAL_API_KEY as environment lines, for a
 * production deployment (every instance gets the same values) or an .env file. Nothing is written.
 */
import { generateKeys } from '../core/config';

for (const [name, value] of Object.entries(generateKeys())) console.log(`${name}=${value}`);
