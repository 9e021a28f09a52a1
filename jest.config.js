/**
 * Jest runs the compiled tests (tsc -b emits them beside the services' code in
 * dist/), as native ES modules: `npm test` builds first. Unit tests sit beside
 * the code (`*.test.ts`); integration tests in test/ (`*.int.test.ts`) start
 * real processes against RabbitMQ, ffmpeg and storage.
 */
export default {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: {},
      roots: ['<rootDir>/shared/dist', '<rootDir>/client/dist', '<rootDir>/gateway/dist', '<rootDir>/worker/dist', '<rootDir>/test/dist'],
      testMatch: ['**/*.test.js'],
      testPathIgnorePatterns: ['\\.int\\.test\\.js$'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: {},
      roots: ['<rootDir>/test/dist'],
      testMatch: ['**/*.int.test.js'],
      slowTestThreshold: 60,
    },
  ],
  testTimeout: 120_000,
};
