// What runs an action on devices. The worker calls `apply` or `undo` inside the transaction that
// records the outcome, so a backend that keeps its world in Postgres (the simulated fleet) is
// applied exactly once per attempt, whatever crashes around it. A remote backend (Defender) may
// answer "not finished yet": it keeps its own record in the action's backend_state, written in
// that same transaction, and the worker calls it again later without holding a slot meanwhile.
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

/** The backend's service asked us to slow down: the whole queue waits, and no attempt is charged. */
export class BackendRateLimitError extends BackendError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message, true);
    this.name = "BackendRateLimitError";
  }
}

/** The run goes on elsewhere (or may not start yet): call `apply`/`undo` again after `afterMs`. */
export class CheckLater {
  constructor(readonly afterMs: number) {}
}

/**
 * How a backend runs, which is what the worker asks: `in_transaction` finishes every run inside
 * the worker's transaction (the simulated fleet), so the worker starts, applies and completes an
 * action (or a batch of them) in one transaction; `remote` runs elsewhere (Defender) and may
 * answer "not finished yet".
 */
export type Backend = RemoteBackend | InTransactionBackend;

type BackendBase = {
  /** For logs and metrics; what the worker does depends on `runs`. */
  readonly name: "simulated" | "defender";
  /** Releases what the backend holds (connections). */
  close?(): Promise<void>;
};

export type RemoteBackend = BackendBase & {
  readonly runs: "remote";
  /** Takes the action and returns what undo will need to restore the previous state. */
  apply(tx: Tx, action: ActionRow): Promise<UndoData | CheckLater>;
  /** Restores what `apply` saved. Throws a non-retryable BackendError for non-undoable types. */
  undo(tx: Tx, action: ActionRow): Promise<CheckLater | undefined>;
  /** Limits of the service behind the backend, for the execute worker (all workers share `limiter`). */
  readonly workerLimits: { maxConcurrency: number; limiter: { max: number; duration: number } };
};

export type InTransactionBackend = BackendBase & {
  readonly runs: "in_transaction";
  apply(tx: Tx, action: ActionRow): Promise<UndoData>;
  undo(tx: Tx, action: ActionRow): Promise<undefined>;
  /**
   * Many actions at once, run as if one after the other in the order given; each one's undo
   * data, in that order. All or nothing: an error for one of them is an error for the call.
   */
  applyAll(tx: Tx, actions: ActionRow[]): Promise<UndoData[]>;
  undoAll(tx: Tx, actions: ActionRow[]): Promise<void>;
};
