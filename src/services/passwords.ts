import bcrypt from 'bcrypt';

/**
 * A hash of a random password at the configured cost: comparing against it when the email is unknown
 * makes that answer take as long as a wrong password, so timing does not reveal which emails exist.
 */
export function createPasswordHasher(cost: number) {
  const dummy = bcrypt.hashSync(`dummy-${Math.random()}`, cost);
  return {
    hash: (password: string) => bcrypt.hash(password, cost),
    verify: (password: string, hash: string | undefined) => bcrypt.compare(password, hash ?? dummy),
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
