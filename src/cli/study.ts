/**
 * `metagrad study <name> --out DIR`: runs one of the analyses in ./studies and writes
 * DIR/<name>.svg (the figure), DIR/<name>.png (when @resvg/resvg-js loads), DIR/<name>.json (the
 * settings, the table and the raw measurements) and DIR/<name>.md (the table in markdown, the
 * findings, the command and its runtime), each atomically (a temporary file, then a rename).
 *
 * With `--json` it prints progress objects (`{"study", "done", "total", "stage"}`) and ends with
 * `{"summary": true, "study", "seconds", "files", "table"}`; on a terminal it draws train's progress bar
 * (./progress.ts) with the running stage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../index.js';
import { choiceOpt, didYouMean, fmtDuration, intOpt, jsonLine, parse, strOpt, UsageError, type CliIO } from './args.js';
import { progressBar, type Progress } from './progress.js';
import { writeFigure, writeFileAtomic } from './common.js';
import { STUDIES } from './studies/index.js';
import type { Study, StudyContext, StudyOutput, Table } from './studies/study.js';
import { fmtNum } from './svg.js';

const COMMON = {
  out: { type: 'string' },
  json: { type: 'boolean' },
  seed: { type: 'string' },
  device: { type: 'string' },
} as const;

/** The usage text of `metagrad study` (the list of studies). */
export const STUDY_USAGE = `usage: metagrad study <name> --out DIR [--seed S] [--device cpu|cuda] [--json] [study options]

studies:
${STUDIES.map((s) => `  ${s.name.padEnd(22)} ${s.summary}`).join('\n')}

run 'metagrad study <name> --help' for a study's options.

examples:
  metagrad study taylor --out runs/studies
  metagrad study memory --out runs/studies --json`;

/** The usage text of one study. */
export function studyUsage(s: Study): string {
  return `usage: metagrad study ${s.name} --out DIR [--seed S] [--device ${(s.devices ?? ['cpu']).join('|')}] [--json]\n${s.usage}\n\nexample:\n  metagrad study ${s.name} --out runs/studies`;
}

/** A markdown table (numbers to `digits` significant digits). */
export function markdownTable(t: Table): string {
  const cell = (v: unknown, digits: number) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return fmtNum(v, digits);
    return String(v).replace(/\|/g, '\\|');
  };
  const head = `| ${t.columns.map((c) => c.label).join(' | ')} |`;
  const sep = `| ${t.columns.map((c) => (t.rows.some((r) => typeof r[c.key] === 'number') ? '---:' : '---')).join(' | ')} |`;
  const rows = t.rows.map((r) => `| ${t.columns.map((c) => cell(r[c.key], c.digits ?? 4)).join(' | ')} |`);
  return [head, sep, ...rows].join('\n');
}

function markdown(s: Study, out: StudyOutput, command: string, seconds: number, png: boolean): string {
  const settings = Object.entries(out.settings).map(([k, v]) => `${k} = ${Array.isArray(v) ? v.join(', ') : String(v)}`).join('; ');
  return [
    `# ${s.title}`,
    '',
    `Command: \`${command}\` (${fmtDuration(seconds)}, ${new Date().toISOString().slice(0, 10)}).`,
    '',
    `Settings: ${settings}.`,
    '',
    `![${s.name}](${s.name}.${png ? 'png' : 'svg'})`,
    '',
    markdownTable(out.table),
    '',
    ...out.findings.flatMap((f) => [f, '']),
  ].join('\n');
}

/**
 * `metagrad study <name> ...`: runs the study and writes its files; returns the exit code (usage
 * errors throw UsageError, which main.ts turns into exit code 2).
 */
export async function study(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    io.stdout.write(`${STUDY_USAGE}\n`);
    return 0;
  }
  if (name === undefined || name.startsWith('-')) throw new UsageError(`expected a study name (${STUDIES.map((s) => s.name).join(', ')})`);
  const s = STUDIES.find((x) => x.name === name);
  if (s === undefined) throw new UsageError(`unknown study '${name}'${didYouMean(name, STUDIES.map((x) => x.name))}; the studies are ${STUDIES.map((x) => x.name).join(', ')}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${studyUsage(s)}\n`);
    return 0;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parse(rest, { ...COMMON, ...s.options }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (see 'metagrad study ${s.name} --help')`);
  }
  const out = strOpt(values, 'out');
  const json = values.json === true;
  const seed = intOpt(values, 'seed', 0, 0);
  const devices = s.devices ?? (['cpu'] as const);
  const device = values.device === undefined ? undefined : choiceOpt(values, 'device', devices);
  if (device === 'cuda' && !mg.cuda.isAvailable()) throw new UsageError("--device cuda: no CUDA device is available (mg.cuda.isAvailable() is false)");

  // train's progress bar (cli-progress), created at the first report (when the total is known).
  let bar: Progress | null = null;
  let lastJson = -1;
  let lastStage = '';
  const ctx: StudyContext = {
    seed,
    progress(done, total, stage = '') {
      if (!json && io.isTTY === true) {
        bar ??= progressBar(io, total, 'stage');
        bar.update(done, stage);
      }
      if (json) {
        // At most one line per percent (and one per stage).
        const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
        if (pct !== lastJson || stage !== lastStage) {
          lastJson = pct;
          lastStage = stage;
          jsonLine(io, { study: s.name, done, total, stage });
        }
      }
    },
  };
  const t0 = Date.now();
  mg.manualSeed(seed);
  let result: StudyOutput;
  try {
    result = await s.run(values, ctx, device);
  } finally {
    (bar as Progress | null)?.stop();
  }
  const seconds = (Date.now() - t0) / 1000;

  fs.mkdirSync(out, { recursive: true });
  const base = path.join(out, s.name);
  const files = writeFigure(`${base}.svg`, result.svg);
  const havePng = files.length > 1;
  const command = ['metagrad', 'study', ...argv].filter((a) => a !== '--json').join(' ');
  const record = {
    format: 'metagrad-study/1',
    study: s.name,
    title: s.title,
    command,
    seed,
    seconds: Number(seconds.toFixed(3)),
    settings: result.settings,
    table: result.table,
    findings: result.findings,
    data: result.data ?? {},
  };
  writeFileAtomic(`${base}.json`, `${JSON.stringify(record, null, 1)}\n`);
  writeFileAtomic(`${base}.md`, markdown(s, result, command, seconds, havePng));
  files.push(`${base}.json`, `${base}.md`);
  if (json) jsonLine(io, { summary: true, study: s.name, seconds: record.seconds, files, table: result.table });
  else {
    io.stdout.write(`${s.title}\n\n${markdownTable(result.table)}\n\n`);
    for (const f of result.findings) io.stdout.write(`${f}\n\n`);
    io.stdout.write(`wrote ${files.join(', ')} in ${fmtDuration(seconds)}${!havePng ? ' (no PNG: @resvg/resvg-js could not be loaded)' : ''}\n`);
  }
  return 0;
}
