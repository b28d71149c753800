// `npm run bench [-- name ...] [-- --json]`: runs the benchmarks (all by default) against dist/.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here).filter((f) => f.endsWith('.mjs') && !['run.mjs', 'lib.mjs'].includes(f)).map((f) => f.slice(0, -4));
const names = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
for (const n of names.length ? names : all) {
  if (!all.includes(n)) {
    console.error(`bench: unknown benchmark ${n} (have: ${all.join(', ')})`);
    process.exit(2);
  }
  const r = spawnSync(process.execPath, [join(here, `${n}.mjs`), ...flags], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
