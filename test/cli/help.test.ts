// The command line as a newcomer meets it: `metagrad --help` lists every command and study, each
// command (and each form of train/eval) answers --help with its options and an example, an unknown
// option is named with the options that exist, and a typo gets the nearest name.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { editDistance, nearest } from '../../src/cli/args.js';
import { run, type CliIO } from '../../src/cli/main.js';
import { STUDIES } from '../../src/cli/studies/index.js';

async function cli(argv: string[]) {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, isTTY: false };
  const code = await run(argv, io);
  return { code, out, err };
}

let tmp: string;
let l2lDir: string;
let sinDir: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-help-'));
  l2lDir = path.join(tmp, 'l2l');
  sinDir = path.join(tmp, 'sin');
  expect((await cli(['train', '--algo', 'l2l', '--task', 'quadratic', '--out', l2lDir, '--iterations', '2', '--json'])).code).toBe(0);
  expect((await cli(['train', '--algo', 'maml', '--task', 'sinusoid', '--out', sinDir, '--iterations', '2', '--meta-batch', '2', '--json'])).code).toBe(0);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('edit distance and the nearest name', () => {
  test.each([
    ['kitten', 'sitting', 3], ['', 'abc', 3], ['abc', 'abc', 0], ['flaw', 'lawn', 2], ['iteratons', 'iterations', 1], ['trian', 'train', 2],
  ])('%s -> %s: %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  test('typos map to the nearest candidate; far words to none', () => {
    expect(nearest('trian', ['train', 'eval', 'plot'])).toBe('train');
    expect(nearest('mamlp', ['maml', 'fomaml', 'mamlpp', 'imaml'])).toBe('mamlpp'); // a tie: the one it begins
    expect(nearest('evl', ['train', 'eval'])).toBe('eval');
    expect(nearest('xyz', ['train', 'eval'])).toBeUndefined();
    expect(nearest('hvp', ['hvp-cost', 'taylor'])).toBe('hvp-cost'); // a unique prefix
  });
});

describe('metagrad --help', () => {
  test('lists every command and every study, memory and lslr included', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['train', 'eval', 'compare', 'plot', 'study', 'bench']) expect(r.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(STUDIES.map((s) => s.name)).toEqual(expect.arrayContaining(['memory', 'lslr']));
    for (const s of STUDIES) expect(r.out).toContain(` ${s.name} `);
    expect(r.out).toContain('examples:');
  });

  test('a mistyped command suggests the nearest one and exits 2', async () => {
    const r = await cli(['trian', '--algo', 'maml']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown command 'trian' (did you mean 'train'?)");
    expect((await cli(['frobnicate'])).err).not.toContain('did you mean');
  });
});

// Each form: the command line whose --help is checked, and one that reaches the form's option
// parser (with an unknown option, so the error lists the options it takes).
const forms: [string, string[], () => string[]][] = [
  ['train (sinusoid)', ['train', '--task', 'sinusoid'], () => ['train', '--algo', 'maml', '--task', 'sinusoid', '--out', 'x']],
  ['train (omniglot)', ['train', '--task', 'omniglot'], () => ['train', '--algo', 'maml', '--task', 'omniglot', '--out', 'x']],
  ['train (l2l)', ['train', '--algo', 'l2l'], () => ['train', '--algo', 'l2l', '--task', 'quadratic', '--out', 'x']],
  ['eval (sinusoid)', ['eval', '--task', 'sinusoid'], () => ['eval', '--checkpoint', sinDir]],
  ['eval (omniglot)', ['eval', '--task', 'omniglot'], () => ['eval', '--checkpoint', 'x', '--task', 'omniglot']],
  ['eval (l2l)', ['eval', '--task', 'quadratic'], () => ['eval', '--checkpoint', l2lDir]],
  ['compare', ['compare'], () => ['compare', sinDir]],
  ['plot', ['plot'], () => ['plot', sinDir]],
  ['bench', ['bench'], () => ['bench']],
  ...STUDIES.map((s): [string, string[], () => string[]] => [`study ${s.name}`, ['study', s.name], () => ['study', s.name, '--out', 'x']]),
];

describe.each(forms)('%s', (_, helpArgv, parseArgv) => {
  test('--help shows its usage, every option it takes, and an example', async () => {
    const h = await cli([...helpArgv, '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^usage: metagrad /);
    expect(h.out).toMatch(/^examples?:\n {2}metagrad /m);
    // The options the parser takes (from its own error message) all appear in the help.
    const r = await cli([...parseArgv(), '--zz-not-an-option']);
    expect(r.code).toBe(2);
    const listed = /the options here are ([^(\n]*)/.exec(r.err)?.[1]?.trim();
    expect(listed, r.err).toBeDefined();
    const options = listed!.split(', ');
    expect(options.length).toBeGreaterThan(1);
    for (const o of options) expect(h.out, `${o} missing from the help`).toContain(o);
    expect(fs.existsSync('x')).toBe(false);
  });
});

describe('unknown options and values', () => {
  test('a mistyped option names the nearest one and lists the rest', async () => {
    const r = await cli(['train', '--algo', 'maml', '--task', 'sinusoid', '--out', 'x', '--iteratons', '5']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown option '--iteratons' (did you mean --iterations?); the options here are --algo, --task, --out, --iterations");
  });

  test('a mistyped choice or study names the nearest one', async () => {
    const a = await cli(['train', '--algo', 'mamlp', '--task', 'omniglot', '--data', '../shared/data/omniglot', '--out', 'x']);
    expect(a.code).toBe(2);
    expect(a.err).toContain("got 'mamlp' (did you mean 'mamlpp'?)");
    const s = await cli(['study', 'memroy', '--out', 'x']);
    expect(s.code).toBe(2);
    expect(s.err).toContain("unknown study 'memroy' (did you mean 'memory'?)");
    const b = await cli(['bench', 'matmull']);
    expect(b.code).toBe(2);
    expect(b.err).toContain("unknown benchmark 'matmull' (did you mean 'matmul'?)");
  });

  test("l2l eval: --task repeating the checkpoint's task is accepted, another one is explained", async () => {
    const ok = await cli(['eval', '--checkpoint', l2lDir, '--task', 'quadratic', '--episodes', '2', '--tune-episodes', '2', '--steps', '5', '--json']);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out.trim().split('\n').pop()!)).toMatchObject({ summary: true, task: 'quadratic' });
    const other = await cli(['eval', '--checkpoint', l2lDir, '--task', 'mlp']);
    expect(other.code).toBe(2);
    expect(other.err).toContain("trained on 'quadratic' optimizees, and an l2l checkpoint is evaluated on the task it was trained on");
    expect(other.err).not.toContain('unknown option');
  });

  test('eval --task quadratic on a sinusoid checkpoint says what --task quadratic is for', async () => {
    const r = await cli(['eval', '--checkpoint', sinDir, '--task', 'quadratic']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--task quadratic is an optimizee family of the learned optimizers: evaluate a checkpoint of 'train --algo l2l --task quadratic'");
  });

  test('--device cuda is refused by train with the reason, as its --help says', async () => {
    const r = await cli(['train', '--algo', 'maml', '--task', 'sinusoid', '--out', 'x', '--device', 'cuda']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--device: 'cuda' is not supported");
    expect((await cli(['train', '--task', 'sinusoid', '--help'])).out).toContain('CPU only');
  });
});
