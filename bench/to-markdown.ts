/**
 * node dist/bench/to-markdown.js bench/results.json > tables.md
 * The tables of a `npm run bench -- --json FILE` run as markdown, with the machine, the
 * date and the command, for bench/RESULTS.md.
 */
import { readFileSync } from 'node:fs';
import { formatMarkdown } from './lib/report.js';
import type { ScenarioResult } from './lib/scenario.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: node dist/bench/to-markdown.js RESULTS.json');
  process.exit(2);
}
const run = JSON.parse(readFileSync(file, 'utf8')) as {
  machine: { cores: number; cpuModel: string; node: string; platform: string; date: string; git?: string };
  command: string;
  scenarios: Array<ScenarioResult | { scenario: string; error: string }>;
};
const m = run.machine;
console.log(`Machine: ${m.cores} cores (${m.cpuModel}), ${m.platform}, Node ${m.node}. Date: ${m.date}. Code: ${m.git ?? 'unknown'}.\n`);
console.log(`Command: \`${run.command}\`\n`);
for (const s of run.scenarios) {
  console.log('error' in s ? `### ${s.scenario}\n\nFAILED:\n\n\`\`\`\n${s.error}\n\`\`\`\n` : `${formatMarkdown(s)}\n`);
}
