// The `pr-rl` command tree (each area registers its commands from src/cli/<area>.ts), built without
// parsing anything, and its flag reference as Markdown: the README's "Flag reference" is this text
// (scripts/cli-reference.ts writes it; test/cli-help.test.ts checks that they agree).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerData } from './data.ts';
import { registerModel } from './model.ts';
import { registerRl } from './rl.ts';
import { registerEval } from './eval.ts';
import { registerTrain } from './train.ts';
import { registerDemo } from './demo.ts';

export function buildProgram(): Command {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('pr-rl')
    .description('Train a small transformer to work as a software engineer by RL (GRPO) on pull requests.')
    .version(version, '-V, --version', 'print the version')
    .configureHelp({ showGlobalOptions: true })
    // A usage error is one line like any other bad input (commander's own message, a suggestion folded in).
    .configureOutput({ outputError: (msg, write) => write(`pr-rl: ${msg.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`) });
  registerData(program);
  registerModel(program);
  registerRl(program);
  registerEval(program);
  registerTrain(program);
  registerDemo(program);
  return program;
}

/**
 * Every command's flags as `--help` words them (defaults included), a Markdown table per command; a
 * default inside this package's folder is written `<pr-rl>/…`, the same in every clone.
 */
export function cliReference(program: Command): string {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const out: string[] = [];
  const visit = (cmd: Command, names: string[]) => {
    const help = cmd.createHelp();
    const options = help.visibleOptions(cmd).filter((o) => o.long !== '--help');
    if (names.length && options.length) {
      const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`));
      out.push(`**\`pr-rl ${[...names, ...args].join(' ')}\`** — ${cmd.description()}`, '', '| flag | meaning (default) |', '|---|---|');
      const cell = (s: string) => s.split(root).join('<pr-rl>/').replace(/\|/g, '\\|').replace(/\s+/g, ' ');
      for (const o of options) out.push(`| \`${cell(help.optionTerm(o))}\` | ${cell(help.optionDescription(o))} |`);
      out.push('');
    }
    for (const sub of help.visibleCommands(cmd)) if (sub.name() !== 'help') visit(sub, [...names, sub.name()]);
  };
  visit(program, []);
  return out.join('\n');
}
