// `npm run lint`: ESLint with typescript-eslint's type-aware rules. No formatting rules: the layout is the code's own.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'data/', 'test-artifacts/', 'bench-results/']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    // A suppression that no longer suppresses anything fails the lint, like any finding.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      parserOptions: {
        // Types come from tsconfig.json; the JS files it does not include get a default project.
        projectService: { allowDefaultProject: ['eslint.config.js', 'scripts/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's describe() and test() return promises that the runner awaits itself.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'suite', 'test', 'it'] }],
      }],
      // A reason relayed as it came (an abort signal's reason, a caught error) stays as it is, as `throw err` may.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // From the strict set: `return promise` without await inside try skips the catch and runs the finally too early.
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
      // A `let` read by callbacks set up before it is assigned (the call a fault hook cancels) cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Off: `async` is the contract where it has no await (Fastify plugins and handlers, the stores' Promise
      // interfaces, async generators): it turns a throw into a rejection. A missing await is no-floating-promises' to find.
      '@typescript-eslint/require-await': 'off',
      // Off: the code writes `list[i]!` after a checked lookup, as under noUncheckedIndexedAccess, which tsconfig does not set.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: ['test/**'],
    rules: {
      // Off in tests only: they read JSON bodies, gRPC messages and YAML manifests as `any` and assert on their shape.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    files: ['bench/run.ts'],
    rules: {
      // Off: report() prints the results record it has just written as JSON, whose values are `unknown`.
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    files: ['**/*.js'],
    rules: {
      // Off: plain JS has no annotations, so its parameters are `any`.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['eslint.config.js', 'scripts/**/*.js'], languageOptions: { globals: globals.node } },
  // The upload page's modules, bundled for browsers by scripts/build-if-changed.js.
  { files: ['page/**/*.js'], languageOptions: { sourceType: 'module', globals: globals.browser } },
);
