/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // jose and otplib's crypto dependencies are ESM-only; Jest on Node 20 cannot require them untransformed.
  transformIgnorePatterns: ['/node_modules/(?!(jose|@scure|@noble|@otplib|otplib)/)'],
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/global-setup.ts',
};
