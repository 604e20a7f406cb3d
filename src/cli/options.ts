// Maps a config's DEFAULTS object to commander options 1:1 (field `groupSize` ↔ flag `--group-size`),
// each help line showing its default, and collects the parsed values back into a partial config.
// Validation stays in config.ts (resolve…); this file only converts text to numbers and booleans.

import { Option, type Command } from 'commander';
import { kebab } from '../config.ts';
import { UserError } from '../util/errors.ts';

export function addConfigOptions<T extends object>(cmd: Command, defaults: T, help: { [K in keyof T]: string }): Command {
  for (const [key, def] of Object.entries(defaults) as [string, unknown][]) {
    const flag = kebab(key);
    const desc = (help as Record<string, string>)[key];
    if (typeof def === 'boolean') {
      // Both forms, so a default of true can be turned off and vice versa.
      cmd.addOption(new Option(`--${flag}`, `${desc} (default: ${def})`));
      cmd.addOption(new Option(`--no-${flag}`, `turn off --${flag}`).hideHelp());
    } else if (typeof def === 'number') {
      cmd.addOption(new Option(`--${flag} <n>`, desc).default(def).argParser((v: string) => {
        const n = v.trim() === '' ? NaN : Number(v.endsWith('%') ? Number(v.slice(0, -1)) / 100 : v); // Number('') is 0
        if (!isFinite(n)) throw new UserError(`--${flag} expects a number, got "${v}"`);
        return n;
      }));
    } else {
      cmd.addOption(new Option(`--${flag} <value>`, desc).default(def));
    }
  }
  return cmd;
}

/** The config fields the user set on the command line (defaults left out, so a resumed run keeps its saved ones). */
export function configFrom<T extends object>(cmd: Command, defaults: T): Partial<T> {
  const opts = cmd.opts();
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) if (cmd.getOptionValueSource(key) === 'cli') out[key] = opts[key];
  return out as Partial<T>;
}

/** Help of --model where a command samples from a model (eval, generate): what open.ts accepts. */
export const MODEL_REF_HELP = 'model folder, a checkpoint folder (<run>/checkpoints/ckpt-NNNNNN) or a run folder (its final/, else its newest checkpoint)';

/** Parser of a flag taking a whole number, 0 up to `max` when given (an empty value is none: Number('') is 0). */
export const wholeNumber = (flag: string, max?: number) => (v: string): number => {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isInteger(n) || n < 0 || (max !== undefined && n > max)) {
    throw new UserError(`${flag} expects ${max === undefined ? 'a whole number ≥ 0' : `an integer from 0 to ${max}`}, got "${v}"`);
  }
  return n;
};
