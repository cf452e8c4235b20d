// What each action type changes on the simulated fleet, and how its undo puts it back: one
// statement per type for all of a batch's actions of that type (see backend.ts for the batching).
import { sql } from "drizzle-orm";
import type { Tx } from "../../db/client.ts";
import type { ActionRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO, type ActionType } from "../../domain/actionTypes.ts";
import { BackendError, type UndoData } from "../types.ts";
import { changeReturningBefore, input } from "./sql.ts";

type RegistryValue = { valueName: string; valueType: string; data: string; present: boolean };

type Apply = (tx: Tx, actions: ActionRow[]) => Promise<[number, UndoData][]>;
type Undo = (tx: Tx, actions: ActionRow[]) => Promise<void>;

/** What each action's device and entity key are, as rows for `input`. */
function onDevice<E extends Record<string, unknown>>(
  actions: ActionRow[],
  entity: (action: ActionRow) => E = () => ({}) as E,
): (E & { action_id: number; device_id: string | null })[] {
  return actions.map((action) => ({ ...entity(action), action_id: action.id, device_id: action.deviceId }));
}

function deviceFlag(
  column: "isolated" | "code_execution_restricted",
  key: string,
): { apply: Apply; undo: Undo } {
  const flag = sql.raw(column);
  return {
    async apply(tx, actions) {
      const rows = await changeReturningBefore<{ action_id: number; value: boolean }>(
        tx,
        onDevice(actions),
        "action_id bigint, device_id text",
        sql`select i.action_id, d.${flag} as value from i join devices d on d.id = i.device_id`,
        sql`update devices d set ${flag} = true from i where d.id = i.device_id`,
      );
      return rows.map((row) => [Number(row.action_id), { [key]: row.value }]);
    },
    async undo(tx, actions) {
      const rows = actions.map((action) => ({
        device_id: action.deviceId,
        value: action.undoData?.[key] === true,
      }));
      await tx.execute(sql`
        update devices d set ${flag} = i.value
        from ${input(rows, "device_id text, value boolean")} where d.id = i.device_id`);
    },
  };
}

const deviceLabel = (action: ActionRow) => action.deviceName ?? action.deviceId ?? "the device";

const isolate = deviceFlag("isolated", "isolated");
const restrict = deviceFlag("code_execution_restricted", "codeExecutionRestricted");

export const APPLY: Record<ActionType, Apply> = {
  isolate_device: isolate.apply,
  restrict_code_execution: restrict.apply,

  async quarantine_file(tx, actions) {
    const before = await changeReturningBefore<{ action_id: number; state: string | null }>(
      tx,
      onDevice(actions, (a) => ({ sha256: a.entity.sha256 })),
      "action_id bigint, device_id text, sha256 text",
      sql`select i.action_id, f.state from i
          left join device_files f on f.device_id = i.device_id and f.sha256 = i.sha256`,
      sql`update device_files f set state = 'quarantined' from i
          where f.device_id = i.device_id and f.sha256 = i.sha256 and f.state <> 'missing'`,
    );
    // The transaction rolls back: nothing of this call stays. As Defender, the fleet quarantines only
    // a file it finds on the device; one it never saw there is a permanent failure, not a success.
    const notThere = before.find((row) => row.state === null || row.state === "missing");
    if (notThere) {
      const action = actions.find((a) => a.id === Number(notThere.action_id))!;
      throw new BackendError(
        notThere.state === "missing"
          ? "the file is no longer on the device"
          : `the file is not on ${deviceLabel(action)}`,
        false,
      );
    }
    return before.map((row) => [Number(row.action_id), { state: row.state! }]);
  },

  async remove_registry_key(tx, actions) {
    const scope = sql`r.device_id = i.device_id and r.key = i.key
      and (i.value_name is null or r.value_name = i.value_name)`;
    const found = await changeReturningBefore<{
      action_id: number;
      value_name: string | null;
      value_type: string;
      data: string;
      present: boolean;
    }>(
      tx,
      onDevice(actions, (a) => ({ key: a.entity.key, value_name: a.entity.valueName ?? null })),
      "action_id bigint, device_id text, key text, value_name text",
      sql`select i.action_id, r.value_name, r.value_type, r.data, r.present
          from i join device_registry_values r on ${scope}`,
      sql`update device_registry_values r set present = false from i where ${scope}`,
      // A key the fleet did not know of is learnt, removed already; it was there with its default value.
      sql`insert into device_registry_values (device_id, key, value_name, present)
          select device_id, key, coalesce(value_name, ''), false from i
          where not exists (select 1 from device_registry_values r where ${scope})`,
    );
    const saved = new Map<number, RegistryValue[]>(actions.map((a) => [a.id, []]));
    for (const row of found.sort((a, b) => (a.value_name ?? "").localeCompare(b.value_name ?? ""))) {
      saved.get(Number(row.action_id))!.push({
        valueName: row.value_name ?? "",
        valueType: row.value_type,
        data: row.data,
        present: row.present,
      });
    }
    for (const action of actions) {
      const values = saved.get(action.id)!;
      if (values.length === 0) {
        values.push({
          valueName: action.entity.valueName ?? "",
          valueType: "REG_SZ",
          data: "",
          present: true,
        });
      }
    }
    return [...saved].map(([id, values]) => [id, { values }]);
  },

  async stop_service(tx, actions) {
    const before = await changeReturningBefore<{
      action_id: number;
      state: string | null;
      start_type: string | null;
    }>(
      tx,
      onDevice(actions, (a) => ({ name: a.entity.name })),
      "action_id bigint, device_id text, name text",
      sql`select i.action_id, s.state, s.start_type from i
          left join device_services s on s.device_id = i.device_id and s.name = i.name`,
      sql`update device_services s set state = 'stopped', start_type = 'disabled' from i
          where s.device_id = i.device_id and s.name = i.name`,
    );
    const unknown = before.find((row) => row.state === null);
    if (unknown) {
      const action = actions.find((a) => a.id === Number(unknown.action_id))!;
      throw new BackendError(
        `no service ${action.entity.name} is installed on ${deviceLabel(action)}`,
        false,
      );
    }
    return before.map((row) => [Number(row.action_id), { state: row.state, startType: row.start_type }]);
  },

  async disable_driver(tx, actions) {
    const before = await changeReturningBefore<{ action_id: number; enabled: boolean | null }>(
      tx,
      onDevice(actions, (a) => ({ name: a.entity.name })),
      "action_id bigint, device_id text, name text",
      sql`select i.action_id, d.enabled from i
          left join device_drivers d on d.device_id = i.device_id and d.name = i.name`,
      sql`insert into device_drivers (device_id, name, enabled)
          select device_id, name, false from i
          on conflict (device_id, name) do update set enabled = false`,
    );
    return before.map((row) => [Number(row.action_id), { enabled: row.enabled ?? true }]);
  },

  async remove_scheduled_task(tx, actions) {
    const before = await changeReturningBefore<{
      action_id: number;
      present: boolean | null;
      definition: Record<string, unknown> | null;
      captured: Record<string, unknown>;
    }>(
      tx,
      onDevice(actions, (a) => ({
        path: a.entity.path,
        definition: { path: a.entity.path, note: "definition captured at removal" },
      })),
      "action_id bigint, device_id text, path text, definition jsonb",
      sql`select i.action_id, t.present, t.definition, i.definition as captured from i
          left join device_scheduled_tasks t on t.device_id = i.device_id and t.path = i.path`,
      sql`insert into device_scheduled_tasks (device_id, path, definition, present)
          select device_id, path, definition, false from i
          on conflict (device_id, path) do update set present = false`,
    );
    return before.map((row) => [
      Number(row.action_id),
      row.present === null
        ? { present: true, definition: row.captured }
        : { present: row.present, definition: row.definition },
    ]);
  },

  async stop_process(tx, actions) {
    const processes = onDevice(actions, (a) => ({
      pid: a.entity.pid ?? null,
      image_path: a.entity.imagePath ?? null,
    }));
    const scope = sql`p.device_id = i.device_id and (i.pid is null or p.pid = i.pid)
        and (i.image_path is null or p.image_path = i.image_path)`;
    // A process that ran there and has stopped already stays stopped; one that never ran there fails.
    const found = await changeReturningBefore<{ action_id: number; known: number }>(
      tx,
      processes,
      "action_id bigint, device_id text, pid int, image_path text",
      sql`select i.action_id, (select count(*) from device_processes p where ${scope})::int as known from i`,
      sql`update device_processes p set running = false from i where ${scope}`,
    );
    const none = found.find((row) => row.known === 0);
    if (none) {
      const action = actions.find((a) => a.id === Number(none.action_id))!;
      const which = action.entity.pid
        ? `process ${action.entity.pid}${action.entity.imagePath ? ` (${action.entity.imagePath})` : ""}`
        : `a process of ${action.entity.imagePath}`;
      throw new BackendError(`no ${which} on ${deviceLabel(action)}`, false);
    }
    return actions.map((action) => [action.id, {}]);
  },

  async block_url(tx, actions) {
    const before = await changeReturningBefore<{ action_id: number; was_blocked: boolean }>(
      tx,
      actions.map((action) => ({ action_id: action.id, url: action.entity.url })),
      "action_id bigint, url text",
      sql`select i.action_id, b.url is not null as was_blocked from i left join blocked_urls b on b.url = i.url`,
      sql`insert into blocked_urls (url, action_id) select url, action_id from i on conflict (url) do nothing`,
    );
    return before.map((row) => [Number(row.action_id), { wasBlocked: row.was_blocked }]);
  },

  // Nothing on the device changes; the run itself (counted in backend_runs) is the effect.
  run_antivirus_scan: async (_tx, actions) => actions.map((action) => [action.id, {}]),
  collect_investigation_package: async (_tx, actions) => actions.map((action) => [action.id, {}]),
};

const notUndoable: Undo = async (_tx, actions) => {
  throw new BackendError(`${ACTION_TYPE_INFO[actions[0]!.type].label} cannot be undone`, false);
};

export const UNDO: Record<ActionType, Undo> = {
  isolate_device: isolate.undo,
  restrict_code_execution: restrict.undo,

  async quarantine_file(tx, actions) {
    const files = onDevice(actions, (a) => ({
      sha256: a.entity.sha256,
      state: a.undoData?.state ?? "present",
    }));
    await tx.execute(sql`
      update device_files f set state = i.state
      from ${input(files, "action_id bigint, device_id text, sha256 text, state text")}
      where f.device_id = i.device_id and f.sha256 = i.sha256`);
  },

  async remove_registry_key(tx, actions) {
    const values = actions.flatMap((action) =>
      ((action.undoData?.values as RegistryValue[] | undefined) ?? []).map((value) => ({
        device_id: action.deviceId,
        key: action.entity.key,
        value_name: value.valueName,
        value_type: value.valueType,
        data: value.data,
        present: value.present,
      })),
    );
    if (values.length === 0) return;
    await tx.execute(sql`
      insert into device_registry_values (device_id, key, value_name, value_type, data, present)
      select device_id, key, value_name, value_type, data, present
      from ${input(values, "device_id text, key text, value_name text, value_type text, data text, present boolean")}
      on conflict (device_id, key, value_name) do update
      set value_type = excluded.value_type, data = excluded.data, present = excluded.present`);
  },

  async stop_service(tx, actions) {
    const services = onDevice(actions, (a) => ({
      name: a.entity.name,
      state: a.undoData?.state ?? "running",
      start_type: a.undoData?.startType ?? "automatic",
    }));
    await tx.execute(sql`
      update device_services s set state = i.state, start_type = i.start_type
      from ${input(services, "action_id bigint, device_id text, name text, state text, start_type text")}
      where s.device_id = i.device_id and s.name = i.name`);
  },

  async disable_driver(tx, actions) {
    const drivers = onDevice(actions, (a) => ({
      name: a.entity.name,
      enabled: a.undoData?.enabled !== false,
    }));
    await tx.execute(sql`
      update device_drivers d set enabled = i.enabled
      from ${input(drivers, "action_id bigint, device_id text, name text, enabled boolean")}
      where d.device_id = i.device_id and d.name = i.name`);
  },

  async remove_scheduled_task(tx, actions) {
    const tasks = onDevice(actions, (a) => ({
      path: a.entity.path,
      present: a.undoData?.present !== false,
      definition: a.undoData?.definition ?? {},
    }));
    await tx.execute(sql`
      update device_scheduled_tasks t set present = i.present, definition = i.definition
      from ${input(tasks, "action_id bigint, device_id text, path text, present boolean, definition jsonb")}
      where t.device_id = i.device_id and t.path = i.path`);
  },

  async block_url(tx, actions) {
    const urls = actions
      .filter((action) => action.undoData?.wasBlocked !== true)
      .map((action) => ({ url: action.entity.url }));
    if (urls.length === 0) return;
    await tx.execute(sql`delete from blocked_urls where url in (select url from ${input(urls, "url text")})`);
  },

  stop_process: notUndoable,
  run_antivirus_scan: notUndoable,
  collect_investigation_package: notUndoable,
};
