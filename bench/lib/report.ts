/** Plain-text tables of scenario results (stdout) and the same as markdown (RESULTS.md). */
import type { ScenarioResult } from './scenario.js';

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function cells(result: ScenarioResult): { header: string[]; body: string[][] } {
  const header = ['contender', ...result.columns.map((c) => `${c.label} median (min-max)`)];
  if (result.ratioLabel) header.push(result.ratioLabel);
  if (result.goal) header.push('goal');
  const body = result.rows.map((row) => {
    const line = [row.name];
    for (const c of result.columns) {
      const m = row.metrics[c.key];
      line.push(m ? `${fmt(m.median, c.digits)} (${fmt(m.min, c.digits)}-${fmt(m.max, c.digits)})` : row.skipped ? '' : '-');
    }
    if (result.ratioLabel) line.push(row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}x`);
    if (result.goal) line.push(row.goal ? `${row.goal.text}: ${row.goal.met ? 'met' : 'NOT met'}` : '');
    if (row.skipped) line[1] = `${line[1] ? `${line[1]} ` : ''}[${row.skipped}]`;
    return line;
  });
  return { header, body };
}

export function formatTable(result: ScenarioResult): string {
  const { header, body } = cells(result);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => (line[i] ?? '').length)));
  const line = (xs: string[]) => xs.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [`\n${result.scenario}: ${result.title}`];
  if (result.goal) out.push(`goal: ${result.goal}`);
  out.push(line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line));
  for (const note of result.notes) out.push(`note: ${note}`);
  return out.join('\n');
}

export function formatMarkdown(result: ScenarioResult): string {
  const { header, body } = cells(result);
  const row = (xs: string[]) => `| ${xs.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`;
  const out = [`### ${result.scenario}`, '', result.title, ''];
  if (result.goal) out.push(`Goal: ${result.goal}`, '');
  out.push(row(header), row(header.map(() => '---')), ...body.map(row), '');
  for (const note of result.notes) out.push(`- ${note}`);
  return out.join('\n');
}
