// The sandbox's workspace kept in Postgres beside the actions it shows: a restart of `npm start`
// finds the channel as it was, and the messages the store points at (slack_messages.ts) are still
// there to update. Saved whole, a moment after a burst of changes, and once more at stop.
import type { Db } from "../db/client.ts";
import { loadSandboxWorkspace, saveSandboxWorkspace } from "../db/queries/sandbox.ts";
import type { Logger } from "../telemetry/log.ts";
import type { FakeSlackApi, FakeWorkspaceState } from "./fakeSlackApi.ts";

// A post and its thread line come within milliseconds: one save for them.
const SAVE_AFTER_MS = 200;

export async function loadWorkspace(db: Db): Promise<FakeWorkspaceState | undefined> {
  return (await loadSandboxWorkspace(db)) as FakeWorkspaceState | undefined;
}

/** Saves the fake's workspace after each change; `stop` saves what is left and ends. */
export function keepWorkspace(fake: FakeSlackApi, db: Db, log: Logger): { stop(): Promise<void> } {
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();

  function save(): Promise<void> {
    timer = undefined;
    // One save at a time, in order: a later snapshot never lands before an earlier one.
    saving = saving.then(async () => {
      if (!dirty) return;
      dirty = false;
      try {
        await saveSandboxWorkspace(db, fake.snapshot());
      } catch (error) {
        // Kept for the next change (or the stop): the page goes on working from memory.
        dirty = true;
        log.warn({ err: error }, "sandbox: could not save the channel; trying again at the next change");
      }
    });
    return saving;
  }

  const unsubscribe = fake.onChange(() => {
    dirty = true;
    timer ??= setTimeout(save, SAVE_AFTER_MS);
  });

  return {
    async stop() {
      unsubscribe();
      clearTimeout(timer);
      await save();
    },
  };
}
