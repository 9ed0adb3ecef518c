/**
 * Unit tests for the Lakebook JupyterLab extension.
 *
 * They cover the pure modules (the typed API client and the state model),
 * which import no JupyterLab packages and need no DOM.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/extension/tests'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/extension/tests/tsconfig.json' }]
  },
  testTimeout: 10000
};
