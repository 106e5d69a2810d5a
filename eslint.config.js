import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'test/generated/**',
      'examples/generated/**',
      // The React example: its own package (node_modules, build output, generated documents).
      'examples/react/node_modules/**',
      'examples/react/dist/**',
      'examples/react/src/gql/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
    },
  },
  {
    // The demo page's module runs in browsers as is (no build step).
    files: ['src/frontend/demo-page/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly' },
    },
  },
  {
    // Auth0 Actions: CommonJS run by Auth0's Node runtime (and the emulator), no dependencies.
    files: ['actions/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        exports: 'writable',
        require: 'readonly',
        Buffer: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
        URL: 'readonly',
      },
    },
    // Auth0's runtime loads Node's built-ins with require().
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Decorated type-graphql classes need their property types as runtime values.
    files: ['src/accounts/**/*.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
);
