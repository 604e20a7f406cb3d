// The model a command samples from (`eval`, `generate`), named by a folder: a model folder, a GRPO
// checkpoint folder (rl/checkpoint.ts's layout; weights and tokenizer as the trainer saved them), or a
// run folder (its final/, else its newest complete checkpoint).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';
import { checkpointProblem, listCheckpoints, loadLatestCheckpoint, type LoadedCheckpoint } from '../rl/checkpoint.ts';
import type { Transformer } from './transformer.ts';
import type { Tokenizer } from '../tokenizer/load.ts';

/**
 * A model folder or a checkpoint folder; `loaded` is the checkpoint already read (and verified) while
 * resolving a run's newest one, for openModel to use and drop, so a checkpoint is read and hashed once.
 */
export type ModelRef = { kind: 'model' | 'checkpoint'; dir: string; loaded?: LoadedCheckpoint };

/** The files that make `dir` a GRPO run folder (a run's config.json is its training config), if any. */
export const runMarks = (dir: string): string[] => ['checkpoints', 'metrics.jsonl'].filter((f) => fs.existsSync(path.join(dir, f)));

/** Refuses an --out that holds a GRPO run (never written over), or with `model`, a model (its tokenizer is part of it). */
export function refuseRunOrModel(out: string, what: string, model: boolean): void {
  const run = runMarks(out);
  if (run.length) throw new UserError(`${what}: ${out} holds a GRPO run (${run.join(', ')}); give --out a new folder`);
  if (model && fs.existsSync(path.join(out, 'model.safetensors'))) throw new UserError(`${what}: ${out} holds a model, whose tokenizer is part of it; give --out a new folder`);
}

/**
 * What `dir` names: a checkpoint (meta.json), a run (its final/, else its newest complete checkpoint; a
 * run's own config.json is its training config), or a model folder (config.json).
 */
export async function resolveModelDir(dir: string, log: (line: string) => void = () => {}): Promise<ModelRef> {
  const has = (...p: string[]) => fs.existsSync(path.join(dir, ...p));
  if (has('meta.json')) {
    const problem = checkpointProblem(dir);
    if (problem) throw new UserError(`${dir}: not a usable checkpoint (${problem})`);
    return { kind: 'checkpoint', dir };
  }
  if (has('final', 'config.json')) {
    // final/ is written just after its step's checkpoint; a checkpoint written later is of a resumed run's later step.
    if (has('checkpoints')) {
      // Sizes only, no hashing: this is a note, and the newest checkpoint may hold a GB of moments.
      const newest = listCheckpoints(path.join(dir, 'checkpoints')).reverse().find((c) => checkpointProblem(c.dir) === null);
      const mtime = (f: string) => fs.statSync(f).mtimeMs;
      if (newest && mtime(path.join(newest.dir, 'meta.json')) > mtime(path.join(dir, 'final', 'config.json'))) {
        log(`${dir}: note: its final/ is older than its newest checkpoint (the run was resumed past its end); give ${newest.dir} to use that step`);
      }
    }
    return { kind: 'model', dir: path.join(dir, 'final') };
  }
  if (has('checkpoints')) {
    // Read whole here (each file hashed on the bytes read) and handed to openModel: not verified, then read again.
    const newest = loadLatestCheckpoint(path.join(dir, 'checkpoints'), log);
    if (!newest) throw new UserError(`${dir}: a run with no final/ and no complete checkpoint yet`);
    log(`${dir}: no final/ yet; using its newest complete checkpoint, ${newest.dir}`);
    return { kind: 'checkpoint', dir: newest.dir, loaded: newest };
  }
  if (has('config.json')) return { kind: 'model', dir };
  if (has('tensors.safetensors') || has('state.json')) throw new UserError(`${dir}: a checkpoint folder without its meta.json (damaged); use another checkpoint or the run's final/`);
  throw new UserError(`${dir}: not a model folder (config.json), a checkpoint folder (meta.json) or a run folder (final/ or checkpoints/)`);
}

/**
 * Loads what resolveModelDir found (after initBackend); the caller disposes the model. A checkpoint it
 * already read is taken out of the ref, so that its bytes (moments and reference model too) are not kept
 * alive by a caller that holds on to the ref.
 */
export async function openModel(ref: ModelRef): Promise<{ model: Transformer; tokenizer: Tokenizer }> {
  const { loaded } = ref;
  delete ref.loaded;
  if (ref.kind === 'checkpoint') return (await import('../rl/trainer.ts')).loadCheckpointModel(ref.dir, loaded);
  return (await import('./weights.ts')).loadModel(ref.dir);
}
