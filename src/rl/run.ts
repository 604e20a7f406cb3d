// A run folder and what a run trains with. resolveRun decides, for a fresh run or a --resume, the
// checkpoint to go on from, the model folder, task files and the resolved config (on resume the run's own,
// but for --steps, --backend and --engine), with a line for every flag it ignores. Also the folder's lock,
// the check that a fresh run does not land on a run or a model, and the tokenizer a checkpoint was trained
// with. The loop itself (trainer.ts) knows nothing of where its settings came from.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kebab, resolveTrainConfig, type TrainConfig } from '../config.ts';
import type { LlamaConfig } from '../model/transformer.ts';
import { listCheckpoints, loadLatestCheckpoint, type LoadedCheckpoint } from './checkpoint.ts';
import type { TrainOptions, TrainState } from './trainer.ts';
import { UserError } from '../util/errors.ts';
import { cannotWrite, refuseFileAsFolder } from '../util/fsx.ts';

/**
 * The version of the training state a checkpoint holds (state.json's `stateVersion`): raised when what a
 * resumed run does with a checkpoint's state changes, so that a later pr-rl can tell the runs apart.
 * - absent: a pr-rl older than the field. Its --curriculum none drew tasks at random, except for the last few
 *   versions before the field, which took them in input order (those record a tokenizer hash); its adaptive
 *   curriculum explored a quarter of its picks even while no group had shown a reward spread;
 * - 1: --curriculum none takes the tasks in input order, P a step, from the top again after the last;
 *   adaptive explores every pick until some group shows a reward spread, then a quarter of them.
 */
export const TRAIN_STATE_VERSION = 1;

/** What a checkpoint's state.json holds (tensors hold the weights and AdamW moments). */
export interface SavedState {
  /** TRAIN_STATE_VERSION of the pr-rl that wrote it (absent in older checkpoints). */
  stateVersion?: number;
  config: TrainConfig;
  loop: TrainState;
  optimizerStep: number;
  modelConfig: LlamaConfig;
  /** The --model folder the run started from (absolute): its tokenizer is the checkpoint's. */
  model?: string;
  /** The --data file (absolute), to warn when a resume reads another. */
  data?: string;
  /** The --heldout file (absolute), which a resume without --heldout goes on using. */
  heldout?: string;
  /** sha256 of the model folder's tokenizer.json: a checkpoint's tokens are that tokenizer's (absent in older checkpoints: with no stateVersion either, a sign of none's old random order). */
  tokenizer?: string;
}

/** sha256 of a model folder's tokenizer.json, or null when it has none. */
export function tokenizerHash(modelDir: string): string | null {
  const f = path.join(modelDir, 'tokenizer.json');
  return fs.existsSync(f) ? createHash('sha256').update(fs.readFileSync(f)).digest('hex') : null;
}

/** Refuses a checkpoint whose run's model folder has another tokenizer now (hash `now`) than the one it was trained with. */
export function checkTokenizer(state: Partial<SavedState>, modelDir: string, where: string, now = tokenizerHash(modelDir)): void {
  if (state.tokenizer !== undefined && now !== state.tokenizer) {
    throw new UserError(`${where}: ${path.join(modelDir, 'tokenizer.json')} is not the tokenizer this checkpoint was trained with (the model folder changed since); put that tokenizer back, or use the run's final/, which keeps its own`);
  }
}

/**
 * A fresh run must not land in a folder holding a run (its checkpoints would be resumed, its final/ or
 * metrics read, as if this run's) or a model (its config.json would be overwritten by the run's).
 */
export function refuseUsedFolder(out: string, resuming = false): void {
  refuseFileAsFolder(out);
  const held = ['checkpoints', 'final', 'metrics.jsonl', 'config.json', 'model.safetensors'].filter((f) => fs.existsSync(path.join(out, f)));
  if (held.length === 0) return;
  if (held.includes('model.safetensors')) throw new UserError(`${out}: a model folder (${held.join(', ')}); give --out a new folder for the run`);
  if (resuming) return; // its own run, stopped before its first checkpoint
  throw new UserError(`${out}: holds a run already (${held.join(', ')}); continue it with --resume, or give --out a new folder`);
}

/**
 * Holds `<run>/.lock` (this process's pid) while a run writes there, so that a second `train` on the same
 * folder is refused instead of mixing two runs' logs and checkpoints. A lock whose process is gone (a
 * kill -9) is taken over. Returns the release.
 */
export function lockRun(out: string): () => void {
  const file = path.join(out, '.lock');
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; } };
  for (let tries = 0; ; tries++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotWrite(file, e);
      let pid = NaN;
      try { pid = Number(fs.readFileSync(file, 'utf8').trim()); } catch { /* removed meanwhile */ }
      if (tries > 0 || (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))) {
        throw new UserError(`${out}: another pr-rl train${Number.isInteger(pid) ? ` (pid ${pid})` : ''} is writing this run; wait for it to end, or stop it`);
      }
      fs.rmSync(file, { force: true }); // its process is gone
    }
  }
}

/** What a run trains with: the checkpoint it goes on from (null: a fresh run), its files and its settings. */
export interface ResolvedRun {
  saved: LoadedCheckpoint<SavedState> | null;
  modelDir: string;
  dataFile: string;
  heldoutFile: string | undefined;
  cfg: Readonly<TrainConfig>;
}

/**
 * The run `opts` asks for. With --resume: the newest checkpoint that verifies, read (and hashed) once (it can
 * hold GBs of weights and moments), and the run's model, tasks, held-out tasks and settings; a file given
 * for one is used only where the run's is gone. Refuses a fresh run's folder that holds a run or a model.
 */
export function resolveRun(opts: TrainOptions, log: (line: string) => void): ResolvedRun {
  const ckptDir = path.join(opts.out, 'checkpoints');
  const saved = opts.resume ? loadLatestCheckpoint<SavedState>(ckptDir, (m) => log(`train: ${m}`)) : null;
  if (opts.resume && !saved) {
    // Nothing to resume: a run stopped before its first checkpoint starts again in its folder, from the flags given.
    const damaged = listCheckpoints(ckptDir).length;
    if (damaged) throw new UserError(`${opts.out}: none of its ${damaged} checkpoint(s) is usable (see above); restore one, or start the run again in a new folder`);
    if (opts.model === undefined || opts.data === undefined) {
      throw new UserError(fs.existsSync(path.join(opts.out, 'config.json'))
        ? `${opts.out}: the run stopped before its first checkpoint, so there is nothing to resume; start it again with --model and --data (with --resume, in this folder)`
        : `${opts.out}: no run to resume (no config.json or checkpoint); start one without --resume`);
    }
    log(`train: --resume given but no complete checkpoint in ${ckptDir}; starting afresh in ${opts.out}`);
  }
  if (!saved) refuseUsedFolder(opts.out, opts.resume); // a --resume with no checkpoint yet starts afresh in its own run folder, never in a model's
  // On resume the run's model (its tokenizer, and the shape its checkpoint holds), tasks and held-out
  // tasks; a file given for one is used only where the run's is gone.
  const runFile = (what: string, flag: string, runs: string | undefined, given: string | undefined, exists: (f: string) => boolean): string | undefined => {
    if (runs !== undefined && exists(runs)) {
      if (given !== undefined && path.resolve(given) !== runs) log(`train: warning: --resume keeps the run's ${what} ${runs}${flag === '--model' ? ' (its tokenizer)' : ''}; ignored: ${flag} ${given}`);
      return runs;
    }
    if (runs !== undefined && given === undefined) throw new UserError(`${saved!.dir}: the run's ${what} ${runs} is not there; give ${flag}`);
    if (runs !== undefined) log(`train: warning: the run's ${what} ${runs} is not there; using ${flag} ${given}${flag === '--data' ? ': the task order may not be the run\'s' : ''}`);
    return given;
  };
  let modelDir = opts.model;
  let dataFile = opts.data;
  let heldoutFile = opts.heldout;
  if (saved) {
    const v = saved.state.stateVersion;
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= TRAIN_STATE_VERSION)) {
      throw new UserError(`${saved.dir}: its training state is version ${JSON.stringify(v)}, which this pr-rl does not know (it writes ${TRAIN_STATE_VERSION}); resume with the pr-rl that wrote it, or use the checkpoint as a model`);
    }
    if (saved.state.model === undefined && modelDir === undefined) throw new UserError(`${saved.dir}: the run's model folder is not recorded (an older pr-rl); give --model`);
    modelDir = runFile('model', '--model', saved.state.model, modelDir, (d) => fs.existsSync(path.join(d, 'config.json')));
    dataFile = runFile('tasks', '--data', saved.state.data, dataFile, fs.existsSync);
    heldoutFile = runFile('held-out tasks', '--heldout', saved.state.heldout, heldoutFile, fs.existsSync);
    if (saved.state.heldout === undefined && heldoutFile !== undefined) {
      log(`train: warning: --resume keeps the run's settings; the run has no held-out tasks: ignored: --heldout ${heldoutFile}`);
      heldoutFile = undefined;
    }
  }
  if (modelDir === undefined || dataFile === undefined) throw new UserError('train: --model and --data are required');
  // On resume, the saved config wins (the model shape and the data order depend on it), except for the
  // total number of steps, which a user may raise to train longer (never below the run's step), and where
  // the arithmetic runs (--backend, --engine: a run started on a GPU goes on elsewhere, up to float rounding).
  const changeable = (['steps', 'backend', 'engine'] as const).filter((k) => opts.config[k] !== undefined);
  const cfg = resolveTrainConfig(saved ? { ...saved.state.config, ...Object.fromEntries(changeable.map((k) => [k, opts.config[k]])) } : opts.config);
  if (saved) {
    if (cfg.steps < saved.state.loop.step) {
      throw new UserError(`train: --steps ${cfg.steps} is below the run's step ${saved.state.loop.step}: a run cannot be shortened; give --steps ${saved.state.loop.step} or more (or use one of its checkpoints as a model)`);
    }
    const moved = (['backend', 'engine'] as const).filter((k) => cfg[k] !== saved.state.config[k]);
    if (moved.length) log(`train: note: ${moved.map((k) => `--${k} ${cfg[k]} (the run's: ${saved.state.config[k]})`).join(', ')}: the rest of the run may differ from an uninterrupted one by float rounding`);
    // --curriculum none drew its tasks at random until it walked them in input order (stateVersion 1 on).
    // Before stateVersion, the tokenizer hash came a few versions after the change: a checkpoint with
    // neither is from a pr-rl that drew at random (or from one of those few versions, which did not).
    if (cfg.curriculum === 'none' && saved.state.stateVersion === undefined && saved.state.tokenizer === undefined) {
      log('train: note: this checkpoint is from an older pr-rl (it records no tokenizer hash), whose --curriculum none may have drawn tasks at random; the rest of the run takes them in input order');
    }
    if (cfg.curriculum === 'adaptive' && saved.state.stateVersion === undefined) {
      log('train: note: this checkpoint is from an older pr-rl, whose adaptive curriculum went back to tasks without reward spread before exploring new ones; the rest of the run explores until a group shows a spread');
    }
    const ignored = Object.entries(opts.config).filter(([k, v]) => !(changeable as readonly string[]).includes(k) && JSON.stringify(v) !== JSON.stringify(saved.state.config[k as keyof TrainConfig]))
      .map(([k, v]) => `--${kebab(k)} ${JSON.stringify(v)} (the run's: ${JSON.stringify(saved.state.config[k as keyof TrainConfig])})`);
    if (ignored.length) log(`train: warning: --resume keeps the run's settings (only --steps, --backend and --engine may change); ignored: ${ignored.join(', ')}`);
  } else if (['random', 'none', 'adaptive'].includes(cfg.curriculum)) {
    const unused = (['pacing', 'pacingStart'] as const).filter((k) => opts.config[k] !== undefined).map((k) => `--${kebab(k)}`);
    if (unused.length) log(`train: note: ${unused.join(' and ')} pace only --curriculum size|files|tokens; ignored with ${cfg.curriculum}`);
  }
  if (saved && heldoutFile) log(`train: held-out tasks of the run: ${heldoutFile}`);
  if (cfg.evalEvery > 0 && !heldoutFile) log(`train: note: --eval-every ${cfg.evalEvery} has nothing to evaluate without --heldout`);
  return { saved, modelDir, dataFile, heldoutFile, cfg };
}
