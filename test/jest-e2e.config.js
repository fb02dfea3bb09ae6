/** End-to-end tests: a real server on loopback against a real SQLite file or PostgreSQL database (E2E_DB). */
const base = require('../jest.config.js');
module.exports = {
  ...base,
  rootDir: '..',
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 120000,
};
