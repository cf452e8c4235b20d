// What runs an action on devices. The worker calls `apply` or `undo` inside the transaction that
// records the outcome, so a backend that keeps its world in Postgres (the simulated fleet) is
// applied exactly once per attempt, whatever crashes around it.
import type { Tx } from "../db/client.ts";
import type { ActionRow } from "../db/schema.ts";

export type UndoData = Record<string, unknown>;

export class BackendError extends Error {
  /** `retryable`: the same call may succeed later (device offline, service busy). */
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = "BackendError";
  }
}

export interface Backend {
  readonly name: "simulated" | "defender";
  /** Takes the action and returns what undo will need to restore the previous state. */
  apply(tx: Tx, action: ActionRow): Promise<UndoData>;
  /** Restores what `apply` saved. Throws a non-retryable BackendError for non-undoable types. */
  undo(tx: Tx, action: ActionRow): Promise<void>;
}
