/**
 * An operation is a list of steps, each with its undo. Steps run in order; when one fails, the
 * undos of the steps already done run in reverse order and the original error is rethrown.
 * An undo that fails is reported through `onUndoError` and does not hide the original error.
 * The failing step's own undo is not run: a step that can fail half-way (a change to memory and
 * then a save) must restore what it changed itself before it throws (Driver.persist does).
 */

export interface Step {
  name: string;
  do: () => Promise<void> | void;
  undo?: () => Promise<void> | void;
}

export async function runSteps(steps: Step[], onUndoError: (step: string, err: unknown) => void = () => {}): Promise<void> {
  const done: Step[] = [];
  for (const step of steps) {
    try {
      await step.do();
    } catch (err) {
      for (const d of done.reverse()) {
        if (!d.undo) continue;
        try {
          await d.undo();
        } catch (undoErr) {
          onUndoError(d.name, undoErr);
        }
      }
      throw err;
    }
    done.push(step);
  }
}
