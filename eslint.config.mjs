import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/out/**', '**/node_modules/**', '**/media/vendor/**', '.cache/**', 'test-artifacts/**', 'bench/raw/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The extension's webview code and the scripts that drive a browser page (page.evaluate) run in a browser.
    files: ['extension/media/topology/src/**', 'extension/scripts/**/*.js', 'extension/src/test/ui/**'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', navigator: 'readonly', performance: 'readonly', requestAnimationFrame: 'readonly' } },
  },
);
