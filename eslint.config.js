// Lint only what the type checker cannot see: promises nobody awaits or handles.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'models/**', 'test-output/**', 'dist/**', 'build/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // the core runs in the browser too: nothing from Node, no native bindings (a task's server/ folder is its server-side endpoints)
    files: ['server/core/**/*.ts', 'server/tasks/**/*.ts'],
    ignores: ['server/core/**/*.test.ts', 'server/tasks/**/*.test.ts', 'server/tasks/*/server/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'onnxruntime-node', 'sharp', 'pino', 'hono', '@hono/*', '@grpc/*', 'protobufjs'],
              message: 'server/core and server/tasks are shared with the browser: import only runtime-agnostic modules',
            },
          ],
        },
      ],
    },
  },
);
