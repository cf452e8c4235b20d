// A private reply as sent: its blocks carry the id of its stored record (db/queries/privateReplies.ts)
// in their block_ids, so a click in the reply says which record it came from, and the click's
// fresh response_url takes over from the one stored. Pure, like every builder.
import type { ActionsBlock, KnownBlock } from "@slack/types";
import { mrkdwn } from "../text.ts";
import type { SlackMessage } from "./actionMessage.ts";
import { decodeListing } from "./history.ts";

/** A private reply ready to send, and the actions it shows (which it follows). */
export type ReplyContent = { message: SlackMessage; actionIds: number[] };

const TAG = /^reply\.(\d{1,15})\.\d+$/;

/** `message` with every block tagged as part of reply `replyId`. */
export function taggedReply(message: SlackMessage, replyId: number): SlackMessage {
  return {
    ...message,
    blocks: message.blocks.map((block, i) => ({ ...block, block_id: `reply.${replyId}.${i}` })),
  };
}

/** The reply a clicked block belongs to, if it is one of ours. */
export function replyIdOf(blockId: string | undefined): number | undefined {
  const match = TAG.exec(blockId ?? "");
  return match ? Number(match[1]) : undefined;
}

/** The command that shows a reply's content afresh: its listing, or `show` of its action. */
export function commandFor(source: string): string {
  const listing = decodeListing(source);
  if (!listing) return `/action-center show ${source}`;
  return `/action-center ${listing.view}${listing.filters ? ` ${listing.filters}` : ""}`;
}

type Element = ActionsBlock["elements"][number];
/** A link opens a page and changes nothing, so it stays; every other control would act on what the reply showed. */
const isLink = (element: Element) => element.type === "button" && element.url !== undefined;

/**
 * The last state a reply can be brought to (its response_url's last use): as `message`, without
 * the controls that would act on it, and a line saying how to get a live one.
 */
export function frozenReply(message: SlackMessage, source: string): SlackMessage {
  const blocks: KnownBlock[] = [];
  for (const block of message.blocks) {
    if (block.type === "actions") {
      const links = block.elements.filter(isLink);
      if (links.length > 0) blocks.push({ ...block, elements: links });
    } else if (block.type === "section" && block.accessory && !isLink(block.accessory as Element)) {
      const { accessory: _control, ...rest } = block;
      blocks.push(rest);
    } else {
      blocks.push(block);
    }
  }
  const line = `_This reply no longer follows changes: \`${commandFor(source)}\` shows the latest._`;
  return { text: message.text, blocks: [...blocks, { type: "context", elements: [mrkdwn(line)] }] };
}
