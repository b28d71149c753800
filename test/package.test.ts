// The published entry points: ESM import and CommonJS require of dist/ (built by `npm ci`).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = existsSync(join(root, 'dist/index.js')) && existsSync(join(root, 'dist/index.cjs'));

describe('package entry points', () => {
  test('dist/ exists (built by npm ci / npm run build:ts)', () => {
    expect(built, 'run `npm run build:ts` first').toBe(true);
  });

  test('import from ESM and require from CommonJS both work', () => {
    const script = (load: string) =>
      `${load}; const t = mg.tensor([[1, 2], [3, 4]]); ` +
      `process.stdout.write(JSON.stringify([t.shape, t.reshape([4]).toArray(), typeof mg.cuda.isAvailable()]))`;
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', script("import * as mg from 'metagrad'")], { cwd: root }).toString();
    const cjs = execFileSync(process.execPath, ['-e', script("const mg = require('metagrad')")], { cwd: root }).toString();
    expect(JSON.parse(esm)).toEqual([[2, 2], [1, 2, 3, 4], 'boolean']);
    expect(JSON.parse(cjs)).toEqual(JSON.parse(esm));
  });

  test('type declarations ship with the package', () => {
    expect(existsSync(join(root, 'dist/index.d.ts'))).toBe(true);
  });
});
