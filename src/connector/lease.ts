// One connector at a time across processes: a lease row in Postgres with its holder and expiry,
// renewed while the holder lives and taken over once it has run out (the holder died or hangs).
// Every page the connector commits checks the lease in its own transaction, so a holder that lost
// it while paused cannot commit work beside the process that took over.
import { randomUUID } from "node:crypto";
import type { Db, DbOrTx } from "../db/client.ts";
import { giveUpLease, stillHolds, takeLease } from "../db/queries/connector.ts";

/** The lease was lost: another process runs the connector now. */
export class LeaseLost extends Error {
  constructor(name: string) {
    super(`the ${name} lease was taken over by another process`);
    this.name = "LeaseLost";
  }
}

export type Lease = ReturnType<typeof createLease>;

export function createLease(db: Db, options: { name: string; ttlMs: number }) {
  const holder = randomUUID();
  let held = false;
  return {
    holder,
    held: () => held,
    /** Takes the lease if it is free or has run out, renews it if held; returns whether it is held. */
    async take(): Promise<boolean> {
      held = await takeLease(db, options.name, holder, options.ttlMs);
      return held;
    },
    /** Inside a transaction that commits the connector's work: throws LeaseLost unless still held. */
    async check(tx: DbOrTx): Promise<void> {
      if (await stillHolds(tx, options.name, holder)) return;
      held = false;
      throw new LeaseLost(options.name);
    },
    /** Lets another process take over at once, rather than after the lease runs out. */
    async release(): Promise<void> {
      if (!held) return;
      held = false;
      await giveUpLease(db, options.name, holder);
    },
  };
}
