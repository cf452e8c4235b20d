// Defender's automated investigations that wait for approval in its Action center: announced once
// in the channel (a message of their own, posted and kept up to date by the usual Slack jobs), the
// message updated whenever the investigation's state changes. They are decided in the portal:
// Microsoft documents no API that approves or rejects them. Runs in the connector's transaction.
import type { DefenderInvestigation } from "../backend/defender/reader.ts";
import type { Tx } from "../db/client.ts";
import { writeOutbox } from "../db/outbox.ts";
import {
  type InvestigationValues,
  insertInvestigation,
  lockInvestigation,
  updateInvestigation,
} from "../db/queries/connector.ts";
import { bumpMessage, createStandaloneMessage } from "../db/queries/messages.ts";

const PENDING_APPROVAL = "PendingApproval";

export type InvestigationOutcome = "announced" | "updated" | "unchanged" | "not_pending";

const values = (
  investigation: DefenderInvestigation,
): Omit<InvestigationValues, "id" | "slackMessageId"> => ({
  state: investigation.state,
  statusDetails: investigation.statusDetails,
  machineId: investigation.machineId,
  computerDnsName: investigation.computerDnsName,
  triggeringAlertId: investigation.triggeringAlertId,
  startTime: investigation.startTime,
  endTime: investigation.endTime,
  cancelledBy: investigation.cancelledBy,
});

/** What the message shows; a change to any of it updates the message. */
const shown = (row: Omit<InvestigationValues, "id" | "slackMessageId">) =>
  JSON.stringify([row.state, row.statusDetails, row.endTime?.getTime() ?? null, row.cancelledBy]);

export async function storeInvestigation(
  tx: Tx,
  investigation: DefenderInvestigation,
  options: { channel: string },
): Promise<InvestigationOutcome> {
  const now = values(investigation);
  const known = await lockInvestigation(tx, investigation.id);
  if (!known) {
    // Only a wait for approval is news for the channel; the rest of AIR's work stays in Defender.
    if (investigation.state !== PENDING_APPROVAL) return "not_pending";
    const slackMessageId = await createStandaloneMessage(tx, options.channel);
    await insertInvestigation(tx, { id: investigation.id, slackMessageId, ...now });
    await writeOutbox(tx, [{ topic: "message.created", payload: { messageId: slackMessageId } }]);
    return "announced";
  }
  if (shown(known) === shown(now)) return "unchanged";
  await updateInvestigation(tx, investigation.id, now);
  const messageVersion = await bumpMessage(tx, known.slackMessageId);
  await writeOutbox(tx, [
    { topic: "message.changed", payload: { messageId: known.slackMessageId, messageVersion } },
  ]);
  return "updated";
}
