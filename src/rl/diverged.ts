// The stops a training loop makes when its numbers are no longer numbers: a loss (or gradient norm) that
// is NaN or ±Infinity, and weights that are, checked before they are written. sft.ts and trainer.ts share
// them; each says in its DivergedWords what it leaves unwritten and what the user can do. Finding the bad
// parameter is weights.ts's (nonFiniteParam).

import { nonFiniteParam } from '../model/weights.ts';
import type { Transformer } from '../model/transformer.ts';
import { UserError } from '../util/errors.ts';

/** A command's words for its stops: `<cmd>: the loss is NaN at step 3 (…); <unsaved>: <todo>`. */
export interface DivergedWords {
  /** The command, the message's first word. */
  cmd: string;
  /** What is not written, after a loss that is not finite and after weights that are not. */
  unsaved: { loss: string; weights: string };
  /** What the user can do. */
  todo: string;
}

/** Throws when the loss (or the gradient norm, where given) read back after `step` is NaN or ±Infinity. */
export function refuseNonFiniteLoss(w: DivergedWords, step: number, loss: number, gradNorm?: number): void {
  if (Number.isFinite(loss) && (gradNorm === undefined || Number.isFinite(gradNorm))) return;
  const norm = gradNorm === undefined ? '' : ` and the gradient norm ${gradNorm}`;
  throw new UserError(`${w.cmd}: the loss is ${loss}${norm} at step ${step} (diverged, or the model's weights are not finite); ${w.unsaved.loss}: ${w.todo}`);
}

/** Throws when a parameter holds NaN or ±Infinity after `step`: checked before the weights are written. */
export async function refuseNonFiniteWeights(w: DivergedWords, model: Transformer, step: number): Promise<void> {
  const bad = await nonFiniteParam(model);
  if (bad) throw new UserError(`${w.cmd}: the weights are not finite after step ${step} (${bad}; diverged); ${w.unsaved.weights}: ${w.todo}`);
}
