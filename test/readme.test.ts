// The README's TypeScript examples run as written (transpiled by esbuild), so they stay true.
// Blocks that are illustrative sketches (they call a `model` the reader supplies) are skipped.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README examples', () => {
  test('there are examples to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });
  blocks.forEach((code, i) => {
    const sketch = /\bmodel\(/.test(code);
    test.skipIf(sketch)(`block ${i + 1} runs`, () => {
      const body = code.replace(/^import \* as mg from 'metagrad';.*$/m, '');
      const js = transformSync(body, { loader: 'ts', format: 'cjs' }).code;
      const before = mg.memory().tensors;
      new Function('mg', js)(mg);
      expect(mg.memory().tensors).toBeGreaterThanOrEqual(before); // it ran and made tensors
    });
  });
});
