// Writes the README's flag reference (between its cli-reference markers) from the CLI's own definitions:
// `npm run docs:cli` after changing a flag. test/cli-help.test.ts fails while the two disagree.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildProgram, cliReference } from '../src/cli/program.ts';

export const START = '<!-- cli-reference:start (npm run docs:cli writes this part) -->';
export const END = '<!-- cli-reference:end -->';

const readme = path.join(import.meta.dirname, '..', 'README.md');
const text = fs.readFileSync(readme, 'utf8');
const a = text.indexOf(START);
const b = text.indexOf(END);
if (a < 0 || b < a) {
  process.stderr.write(`cli-reference: README.md has no "${START}" … "${END}" block\n`);
  process.exit(1);
}
const next = text.slice(0, a + START.length) + '\n' + cliReference(buildProgram()) + '\n' + text.slice(b);
if (next === text) process.stderr.write('cli-reference: README.md is current\n');
else {
  fs.writeFileSync(readme + '.tmp', next);
  fs.renameSync(readme + '.tmp', readme);
  process.stderr.write('cli-reference: README.md updated\n');
}
