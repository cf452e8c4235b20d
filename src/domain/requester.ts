// Who requested an action, read from the free text of `requestedBy` the way people and tools
// write it (a Slack id or mention, an address with or without `mailto:`, a bare user name, in any
// case, with quotes, a trailing dot or invisible characters), and whether an approver is that
// person. Pure: the approver's Slack identity and any Slack look-ups are handed in.

import { USER_ID } from "./permissions.ts";

/** What a requester's text names, each part already in the one form it is compared in. */
export type Requester = {
  /** A Slack user id it names (`U0ALICE1`, `<@U0ALICE1>`, `<@U0ALICE1|alice>`). */
  userId?: string;
  /** An address, lower case, without `mailto:`, quotes or a trailing dot: `alice@corp.example`. */
  email?: string;
  /** A user name with no domain (`alice`, `CORP\alice`), lower case: it may be anybody's local part. */
  name?: string;
};

/** What Slack says about the person deciding (users.info), each part optional. */
export type ApproverIdentity = {
  /** The verified Slack user id of the click. */
  userId: string;
  /** The profile's email address, when the app may read it. */
  email?: string | null;
  /** The Slack handle (`name`). */
  handle?: string | null;
};

/**
 * Whether the approver is the requester: `same` and `different` are known, `unknown` means the
 * requester could not be put to a Slack user (a bare name, an address nobody in Slack has, text
 * that names nobody); the policy's `unknownRequester` says what that means.
 */
export type RequesterMatch = "same" | "different" | "unknown";

// Zero-width and other format characters (ZWSP, ZWJ, BOM, soft hyphen, bidi controls) that make
// two spellings look alike; NFKC does not remove them.
const INVISIBLE = /[\p{Cf}\p{Cc}]/gu;
const QUOTES =
  /^["'`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a]+|["'`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a]+$/gu;
const MENTION = /^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$/i;
/** `Alice Nguyen <alice@corp.example>`: the address in angle brackets. */
const NAMED_ADDRESS = /<([^<>@\s]+@[^<>\s]+)>$/;
const ADDRESS = /^([^@\s]+)@([^@\s]+)$/;
/** `CORP\alice` (a down-level logon name): the user name after the domain. */
const LOGON_NAME = /^[^\\/\s]+\\([^\\/\s]+)$/;
const BARE_NAME = /^[\p{L}\p{N}._+-]+$/u;

/** Text shaped like a Slack user id, in any case, with at least one digit (so not `WALTER`). */
const looksLikeSlackUserId = (text: string) => USER_ID.test(text.toUpperCase()) && /\d/.test(text);

/** The text with what does not change who it names taken away; empty when nothing is left. */
function strip(raw: string): string {
  let text = raw.normalize("NFKC").replace(INVISIBLE, "").trim();
  for (let previous = ""; previous !== text; ) {
    previous = text;
    text = text
      .replace(QUOTES, "")
      .replace(/^mailto:/i, "")
      .replace(/[.\s]+$/u, "")
      .trim();
  }
  return text;
}

/** What `requestedBy` names, or null when it names nobody that could be compared. */
export function parseRequester(raw: string): Requester | null {
  const text = strip(raw);
  const mention = MENTION.exec(text);
  if (mention) return { userId: mention[1]!.toUpperCase() };
  // Could also be somebody's user name: kept as both, so that either spelling matches.
  if (looksLikeSlackUserId(text)) return { userId: text.toUpperCase(), name: text.toLowerCase() };
  const address = strip(NAMED_ADDRESS.exec(text)?.[1] ?? text)
    .replace(/\?.*$/u, "")
    .toLowerCase();
  const parts = ADDRESS.exec(address);
  if (parts) {
    const local = strip(parts[1]!);
    const domain = strip(parts[2]!);
    if (local && domain) return { email: `${local}@${domain}` };
  }
  const name = strip(LOGON_NAME.exec(address)?.[1] ?? address);
  return BARE_NAME.test(name) ? { name } : null;
}

/** The one spelling a requester is looked up by: the policy's `requesters` keys are stored in it. */
export function requesterKey(raw: string): string | null {
  const requester = parseRequester(raw);
  return requester ? (requester.userId ?? requester.email ?? requester.name ?? null) : null;
}

/**
 * Whether the approver is the requester. `resolvedUserId` is the Slack user the requester was
 * put to outside this function (the policy's mapping, or users.lookupByEmail of the address):
 * a user id, null when Slack has nobody with that address, undefined when nobody was asked.
 */
export function compareRequester(
  requester: Requester | null,
  approver: ApproverIdentity,
  resolvedUserId?: string | null,
): RequesterMatch {
  if (!requester) return "unknown";
  const mine = approver.email ? parseRequester(approver.email)?.email : undefined;
  const myLocal = mine?.split("@")[0];
  const myHandle = approver.handle ? parseRequester(approver.handle)?.name : undefined;
  const same =
    (requester.userId !== undefined && requester.userId === approver.userId) ||
    (resolvedUserId !== undefined && resolvedUserId === approver.userId) ||
    (requester.email !== undefined && requester.email === mine) ||
    (requester.name !== undefined && (requester.name === myLocal || requester.name === myHandle));
  if (same) return "same";
  const known = requester.userId ?? resolvedUserId;
  return typeof known === "string" ? "different" : "unknown";
}
