// A few thousand random calls over the public op table (test/fuzz/public_ops_fuzz.mjs, run on
// dist/ in a child process so that a native crash fails this test instead of killing vitest):
// every rejection is a plain Error naming the op that was called, every returned tensor holds
// exactly `size` values, and the process exits normally. A failure names the seed and the call;
// rerun one with `node test/fuzz/public_ops_fuzz.mjs SEED CALLS 3>/dev/stderr`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, 'public_ops_fuzz.mjs');
const built = fs.existsSync(path.join(here, '../../dist/index.js'));

interface Report {
  calls: number;
  returned: number;
  rejected: number;
  failures: { call?: string; error?: string }[];
}

describe('fuzzing the public ops', () => {
  test.each([1, 2])('seed %i: 3,000 calls, no crash, every rejection an Error naming the op', (seed) => {
    expect(built, 'run `npm run build:ts` first').toBe(true);
    const log = path.join(os.tmpdir(), `metagrad-fuzz-${process.pid}-${seed}.log`);
    const fd = fs.openSync(log, 'w');
    try {
      const r = spawnSync(process.execPath, [script, String(seed), '3000'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', fd], timeout: 120_000 });
      const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
      expect(r.signal, `killed by ${r.signal} during: ${calls[calls.length - 1]}`).toBeNull();
      expect(r.status, `exit ${r.status} during: ${calls[calls.length - 1]}\n${r.stderr}`).toBe(0);
      const report = JSON.parse(r.stdout) as Report;
      expect(report.failures).toEqual([]);
      expect(report.calls).toBe(3000);
      // Both outcomes are exercised.
      expect(report.returned).toBeGreaterThan(600);
      expect(report.rejected).toBeGreaterThan(600);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(log, { force: true });
    }
  }, 150_000);
});
