// ESLint for the dashboard (npm run lint; cargo xtask dashboard check): the recommended rules,
// the browser's globals for src/, Node's for the tests and tools, and the page's own rules —
// telemetry is text, so nothing may write markup (innerHTML and friends), and nothing may
// build code from strings (the Content-Security-Policy forbids it anyway).

import js from '@eslint/js';
import globals from 'globals';

/** Browser globals that are easy to use by mistake for a local of the same name. */
const CONFUSING_GLOBALS = ['event', 'name', 'status', 'length', 'top', 'parent', 'self', 'origin', 'closed', 'find'];

const MARKUP = 'Telemetry is shown as text: build elements with html`…`, never markup from strings.';

export default [
  { ignores: ['vendor/', 'node_modules/', 'types/'] },
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-unused-vars': ['error', { args: 'after-used', caughtErrors: 'all', ignoreRestSiblings: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': 'error',
      'no-shadow': ['error', { builtinGlobals: false }],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      'no-script-url': 'error',
      'no-throw-literal': 'error',
      'no-self-compare': 'error',
      'no-template-curly-in-string': 'error',
      'no-unmodified-loop-condition': 'error',
      'no-unreachable-loop': 'error',
      'no-promise-executor-return': 'error',
      'no-constructor-return': 'error',
      'array-callback-return': ['error', { checkForEach: true }],
      'default-param-last': 'error',
      'prefer-object-has-own': 'error',
    },
  },
  {
    files: ['src/**/*.js'],
    languageOptions: { globals: globals.browser },
    rules: {
      'no-restricted-globals': ['error', ...CONFUSING_GLOBALS],
      'no-restricted-properties': [
        'error',
        ...['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'write', 'writeln'].map((property) => ({ property, message: MARKUP })),
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'TemplateElement[value.raw=/dangerouslySetInnerHTML/]', message: MARKUP },
        { selector: "Property[key.name='dangerouslySetInnerHTML']", message: MARKUP },
        { selector: "CallExpression[callee.property.name='createContextualFragment']", message: MARKUP },
      ],
      'no-console': 'error',
    },
  },
  {
    files: ['tests/**/*.mjs', 'tools/**/*.mjs', '*.mjs'],
    languageOptions: { globals: globals.node },
  },
];
