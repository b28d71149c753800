/** Shared by the Omniglot tests: where the real data is, and synthetic archives in a temp dir. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** ../shared/data/omniglot next to the repository, or undefined (with a visible note) if absent. */
export function omniglotDataDir(): string | undefined {
  const dir = resolve(repoRoot, '../shared/data/omniglot');
  if (existsSync(resolve(dir, 'images_background_small2.zip'))) return dir;
  console.warn(`[omniglot tests] ${dir} not found: the tests on the real Omniglot data are skipped`);
  return undefined;
}
