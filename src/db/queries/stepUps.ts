// Decisions held for a fresh sign-in (step-up): created at the click, started once from the
// link, finished by the identity provider's answer. Each move is one conditional UPDATE on the
// row's status, so a link or a provider's answer counts at most once.
import { and, eq, gt, inArray, sql } from "drizzle-orm";
import type { DbOrTx, Tx } from "../client.ts";
import { actions, type StepUpRow, stepUps } from "../schema.ts";

type Held = Pick<StepUpRow, "tokenHash" | "actionId" | "decision" | "slackUserId" | "expiresAt">;

/** Holds a decision; the same person's earlier links for it stop working. */
export async function holdStepUp(tx: Tx, held: Held): Promise<StepUpRow> {
  await tx
    .update(stepUps)
    .set({ status: "expired", finishedAt: new Date() })
    .where(
      and(
        eq(stepUps.actionId, held.actionId),
        eq(stepUps.slackUserId, held.slackUserId),
        eq(stepUps.decision, held.decision),
        eq(stepUps.status, "open"),
      ),
    );
  const [row] = await tx.insert(stepUps).values(held).returning();
  return row!;
}

/** Slack's address for the person, looked up after the click. */
export async function setStepUpEmail(db: DbOrTx, id: number, email: string | null): Promise<void> {
  await db.update(stepUps).set({ slackEmail: email }).where(eq(stepUps.id, id));
}

export async function stepUpByToken(db: DbOrTx, tokenHash: string): Promise<StepUpRow | undefined> {
  const [row] = await db.select().from(stepUps).where(eq(stepUps.tokenHash, tokenHash));
  return row;
}

/**
 * The link's one use: an open, unexpired step-up starts its sign-in, which must finish within
 * `finishWithinMs`. Null when it was used already, or has expired (then nothing changes).
 */
export async function startStepUp(
  db: DbOrTx,
  id: number,
  secrets: { stateHash: string; nonce: string; codeVerifier: string; browserHash: string },
  finishWithinMs: number,
): Promise<StepUpRow | null> {
  const [row] = await db
    .update(stepUps)
    .set({
      ...secrets,
      status: "signing_in",
      startedAt: new Date(),
      expiresAt: sql`now() + ${`${finishWithinMs} milliseconds`}::interval`,
    })
    .where(and(eq(stepUps.id, id), eq(stepUps.status, "open"), gt(stepUps.expiresAt, sql`now()`)))
    .returning();
  return row ?? null;
}

/** The step-up whose sign-in sent this `state`; any status (the caller says why not). */
export async function stepUpByState(db: DbOrTx, stateHash: string): Promise<StepUpRow | undefined> {
  const [row] = await db.select().from(stepUps).where(eq(stepUps.stateHash, stateHash));
  return row;
}

export async function stepUpById(db: DbOrTx, id: number): Promise<StepUpRow | undefined> {
  const [row] = await db.select().from(stepUps).where(eq(stepUps.id, id));
  return row;
}

export async function lockStepUp(tx: Tx, id: number): Promise<StepUpRow | undefined> {
  const [row] = await tx.select().from(stepUps).where(eq(stepUps.id, id)).for("update");
  return row;
}

export async function finishStepUp(
  db: DbOrTx,
  id: number,
  status: "committed" | "refused" | "cancelled" | "expired",
): Promise<void> {
  await db.update(stepUps).set({ status, finishedAt: new Date() }).where(eq(stepUps.id, id));
}

/**
 * Who the actions of a message are waiting on to sign in, with the time their link stops
 * working. Read through the partial index of open step-ups, so a message of thousands of
 * actions costs no more than one of a single action.
 */
export async function awaitingSignInOnMessage(
  db: DbOrTx,
  messageId: number,
): Promise<Map<number, { userId: string; until: Date }[]>> {
  const rows = await db
    .select({ actionId: stepUps.actionId, userId: stepUps.slackUserId, until: stepUps.expiresAt })
    .from(stepUps)
    .innerJoin(actions, eq(actions.id, stepUps.actionId))
    .where(
      and(
        inArray(stepUps.status, ["open", "signing_in"]),
        gt(stepUps.expiresAt, sql`now()`),
        eq(actions.slackMessageId, messageId),
      ),
    )
    .orderBy(stepUps.id);
  const waiting = new Map<number, { userId: string; until: Date }[]>();
  for (const row of rows) waiting.set(row.actionId, [...(waiting.get(row.actionId) ?? []), row]);
  return waiting;
}
