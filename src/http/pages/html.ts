// Server-rendered HTML with escaping by default: every value interpolated into `html` is escaped
// unless it is itself `Html` built here, so no page can forget to escape a device name or comment.
import type { Response } from "express";

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

type Part = Html | string | number | null | undefined | false | readonly Part[];

function render(part: Part): string {
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join("");
  if (part === null || part === undefined || part === false) return "";
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? "";
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? "");
  });
  return new Html(out);
}

/** Markup from a trusted constant of ours (a style sheet), never from data. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** "2024-05-01 03:12:45 UTC" in a <time> element: the same for every reader, no script needed. */
export function utcTime(date: Date): Html {
  const text = `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  return html`<time datetime="${date.toISOString()}">${text}</time>`;
}

/**
 * Sends a whole page. The policy allows only our own script file (live.ts) and nothing from
 * elsewhere: even if a value slipped through unescaped, no inline script could run.
 */
export function sendPage(res: Response, status: number, page: Html, policy = PAGE_POLICY): void {
  res
    .status(status)
    .set({
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": policy,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Cache-Control": "no-store",
    })
    .send(page.value);
}

const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
