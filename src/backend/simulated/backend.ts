// The default backend: a fleet of devices kept in Postgres. Each action type changes the state
// Defender would change, saves what it replaced, and undo puts it back exactly.
//
// It works on many actions at once: the worker runs a burst of approvals as one batch, and a
// round trip per action would cost more than everything else the action does. Each action type
// is one statement whatever the number of its actions, and the statements of one call are sent
// together. An action that repeats an earlier one's change of the same thing (a device isolated
// twice, a file quarantined twice) needs no statement: the state it would find is known. Other
// actions that touch the same thing go in successive waves, in the order given, so that no
// statement changes a row twice; across transactions, a lock per thing touched keeps changes to
// it one at a time.

import { sql } from "drizzle-orm";
import type { Tx } from "../../db/client.ts";
import { LOCK_SPACES } from "../../db/locks.ts";
import type { ActionRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO, type ActionType, isUndoable } from "../../domain/actionTypes.ts";
import { BackendError, type InTransactionBackend, type UndoData } from "../types.ts";
import { APPLY, UNDO } from "./changes.ts";
import { input, select } from "./sql.ts";

export function createSimulatedBackend(): InTransactionBackend {
  const backend: InTransactionBackend = {
    name: "simulated",
    runs: "in_transaction",
    async applyAll(tx, actions) {
      await lockWhatTheyTouch(tx, actions);
      const { distinct, repeated } = repeatsOfTheFirst(actions);
      const saved = new Map<number, UndoData>();
      for (const [n, wave] of waves(distinct).entries()) {
        const applied = [...byType(wave)].map(([type, ofType]) => APPLY[type](tx, ofType));
        const ran = n === 0 ? [...wave, ...repeated.keys()] : wave;
        await settled([countRuns(tx, ran, "apply"), ...applied]);
        for (const pairs of await Promise.all(applied)) {
          for (const [id, undoData] of pairs) saved.set(id, undoData);
        }
      }
      for (const [repeat, first] of repeated) {
        saved.set(repeat.id, SETS_FIXED_STATE[repeat.type]!(saved.get(first.id)!));
      }
      return actions.map((action) => saved.get(action.id) ?? {});
    },
    async undoAll(tx, actions) {
      const refused = actions.find((action) => !isUndoable(action.type));
      if (refused) {
        throw new BackendError(`${ACTION_TYPE_INFO[refused.type].label} cannot be undone`, false);
      }
      await lockWhatTheyTouch(tx, actions);
      const { distinct, superseded } = theLastOfEach(actions);
      for (const [n, wave] of waves(distinct).entries()) {
        const undone = [...byType(wave)].map(([type, ofType]) => UNDO[type](tx, ofType));
        const ran = n === 0 ? [...wave, ...superseded] : wave;
        await settled([countRuns(tx, ran, "undo"), ...undone]);
      }
    },
    async apply(tx, action) {
      return (await backend.applyAll(tx, [action]))[0]!;
    },
    async undo(tx, action) {
      await backend.undoAll(tx, [action]);
      return undefined;
    },
  };
  return backend;
}

/**
 * Waits for statements sent together on the transaction's connection; if any failed, throws
 * the first failure in the order given (a failed statement makes the ones after it fail too).
 */
async function settled(work: Promise<unknown>[]): Promise<void> {
  const failure = (await Promise.allSettled(work)).find((result) => result.status === "rejected");
  if (failure) throw failure.reason;
}

/** What an action changes on the fleet: two actions with the same key may not share a statement. */
function touches(action: ActionRow): string {
  const { entity, deviceId } = action;
  switch (action.type) {
    case "quarantine_file":
      return `file:${deviceId}:${entity.sha256}`;
    case "remove_registry_key":
      return `registry:${deviceId}:${entity.key}`;
    case "stop_service":
      return `service:${deviceId}:${entity.name}`;
    case "disable_driver":
      return `driver:${deviceId}:${entity.name}`;
    case "remove_scheduled_task":
      return `task:${deviceId}:${entity.path}`;
    case "block_url":
      return `url:${entity.url}`;
    default:
      return `${action.type}:${deviceId}`;
  }
}

/**
 * Types whose change puts the thing it touches in a state of its own, whatever it was: done
 * again, the change changes nothing, and what the repeat would find there (its undo data) is
 * that state; of several undos of the thing, the last one decides what it is left as. Given the
 * first change's undo data, the undo data of a repeat.
 */
const SETS_FIXED_STATE: Partial<Record<ActionType, (first: UndoData) => UndoData>> = {
  isolate_device: () => ({ isolated: true }),
  restrict_code_execution: () => ({ codeExecutionRestricted: true }),
  quarantine_file: () => ({ state: "quarantined" }),
  stop_service: () => ({ state: "stopped", startType: "disabled" }),
  disable_driver: () => ({ enabled: false }),
  remove_scheduled_task: (first) => ({ present: false, definition: first.definition }),
  run_antivirus_scan: () => ({}),
  collect_investigation_package: () => ({}),
};

/**
 * Actions that repeat an earlier one of the call (same fixed-state change of the same thing)
 * need no statement of their own: a burst that isolates one device a hundred times is one
 * change, not a hundred waves. `repeated`: each repeat and the first action it repeats.
 */
function repeatsOfTheFirst(actions: ActionRow[]) {
  const firstOf = new Map<string, ActionRow>();
  const distinct: ActionRow[] = [];
  const repeated = new Map<ActionRow, ActionRow>();
  for (const action of actions) {
    const key = touches(action);
    const first = firstOf.get(key);
    if (first && SETS_FIXED_STATE[action.type]) repeated.set(action, first);
    else {
      firstOf.set(key, action);
      distinct.push(action);
    }
  }
  return { distinct, repeated };
}

/** Of several undos of one fixed-state change, only the last one's restore is left standing. */
function theLastOfEach(actions: ActionRow[]) {
  const lastOf = new Map<string, ActionRow>();
  for (const action of actions) if (SETS_FIXED_STATE[action.type]) lastOf.set(touches(action), action);
  const distinct: ActionRow[] = [];
  const superseded: ActionRow[] = [];
  for (const action of actions) {
    const last = SETS_FIXED_STATE[action.type] ? lastOf.get(touches(action)) : action;
    (last === action ? distinct : superseded).push(action);
  }
  return { distinct, superseded };
}

/** The actions in waves, in order: an action goes in the wave after the last one that touches the same. */
function waves(actions: ActionRow[]): ActionRow[][] {
  const result: ActionRow[][] = [];
  const lastWaveOf = new Map<string, number>();
  for (const action of actions) {
    const key = touches(action);
    const index = (lastWaveOf.get(key) ?? -1) + 1;
    lastWaveOf.set(key, index);
    result[index] ??= [];
    result[index]!.push(action);
  }
  return result;
}

function byType(actions: ActionRow[]): Map<ActionType, ActionRow[]> {
  const groups = new Map<ActionType, ActionRow[]>();
  for (const action of actions) {
    const group = groups.get(action.type);
    if (group) group.push(action);
    else groups.set(action.type, [action]);
  }
  return groups;
}

/** Types whose change is to the device's own row (its isolation, its code execution policy). */
const CHANGES_DEVICE_ROW: ReadonlySet<ActionType> = new Set(["isolate_device", "restrict_code_execution"]);

/**
 * Serialises changes to the same thing across transactions, always in one order so that
 * concurrent batches queue instead of deadlocking: the device rows that change, by id, then one
 * lock per thing touched (a file on a device, a service, a URL…), by key. Batches on different
 * things of one device run side by side. Refuses actions on missing or offline devices.
 */
async function lockWhatTheyTouch(tx: Tx, actions: ActionRow[]): Promise<void> {
  const needing = actions.filter((action) => ACTION_TYPE_INFO[action.type].needsDevice);
  const unnamed = needing.find((action) => !action.deviceId);
  if (unnamed) throw new BackendError("the action names no device", false);
  const rowsChanging = unique(
    needing.filter((action) => CHANGES_DEVICE_ROW.has(action.type)).map((action) => action.deviceId!),
  );
  if (rowsChanging.length > 0) {
    await tx.execute(sql`select id from devices where id = any(${sql.param(rowsChanging)}::text[])
        order by id for update`);
  }
  await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_SPACES.touchedThing}, key) from (
      select distinct hashtext(touched) as key from jsonb_array_elements_text(${JSON.stringify(unique(actions.map(touches)))}::jsonb) as touched
      order by key) as keys`);
  if (needing.length === 0) return;
  const found = await select<{ id: string; name: string; online: boolean }>(
    tx,
    sql`select id, name, online from devices
        where id = any(${sql.param(unique(needing.map((action) => action.deviceId!)))}::text[])`,
  );
  const byId = new Map(found.map((device) => [device.id, device]));
  for (const action of needing) {
    const device = byId.get(action.deviceId!);
    if (!device)
      throw new BackendError(`device ${action.deviceName ?? action.deviceId} is not in the fleet`, false);
    if (!device.online) throw new BackendError(`device ${device.name} is offline`, true);
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

async function countRuns(tx: Tx, actions: ActionRow[], operation: "apply" | "undo"): Promise<void> {
  const runs = actions.map((action) => ({
    action_id: action.id,
    attempt: operation === "apply" ? action.attempt : action.undoAttempt,
  }));
  await tx.execute(sql`
    insert into backend_runs (action_id, operation, attempt)
    select action_id, ${operation}, attempt from ${input(runs, "action_id bigint, attempt int")}
    on conflict (action_id, operation, attempt)
    do update set count = backend_runs.count + 1, created_at = now()`);
}
