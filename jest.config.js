/** Unit tests: specs next to their code. */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' } }];
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'],
  // NestJS 12 ships ES modules; Jest's module system needs them compiled to CommonJS like our own code.
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|jose|openid-client|oauth4webapi|uid|load-esm|file-type|strtok3|token-types|@tokenizer)/)'],
  // `@app/<lib>/core` is a lib's Nest-free entry point (see .dependency-cruiser.cjs); every other import uses the index.
  moduleNameMapper: { '^@app/([a-z-]+)$': '<rootDir>/libs/$1/src', '^@app/([a-z-]+)/core$': '<rootDir>/libs/$1/src/core' },
};
