// The investigation page that "Open investigation" links to: the actions of an investigation with their
// statuses and audit trails, every value escaped, and a 404 page for what does not exist.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForStatuses } from "../support/actions.ts";
import { APPROVER, GROUP_APPROVER, startTestApp, type TestApp } from "../support/app.ts";
import { actionBody } from "../support/fixtures.ts";
import { buttonsOf, click, submitView, waitForMessage } from "../support/slackUser.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("investigation_page");
});
afterAll(() => app?.close());

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

async function ingest(bodies: Record<string, unknown>[]): Promise<number[]> {
  const res = await app.api("/api/v1/actions", { method: "POST", body: JSON.stringify({ actions: bodies }) });
  expect(res.status).toBe(201);
  const { actions } = (await res.json()) as { actions: { id: string }[] };
  return actions.map((a) => Number(a.id));
}

const page = (path: string) => fetch(`${app.url}${path}`);

/** The page's text without tags, whitespace collapsed: what a reader sees. */
function visibleText(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ");
}

describe("investigation page", () => {
  it("shows each action with its status and who decided what, oldest event first", async () => {
    const investigation = "inv-page-1";
    const [quarantine, stop] = await ingest([
      actionBody("quarantine_file", 1, {
        investigationId: investigation,
        incidentId: "inc-77",
        device: { id: "dev-fin-7", name: "LAPTOP-FIN-07" },
      }),
      actionBody("stop_service", 2, {
        investigationId: investigation,
        device: { id: "dev-fin-7", name: "LAPTOP-FIN-07" },
      }),
    ]);
    const posted = await waitForMessage(app, quarantine!);
    const link = buttonsOf(posted).find((b) => b.action_id === `open_investigation:${quarantine}`);
    expect(new URL(link!.url!).pathname).toBe(`/investigations/${investigation}`);

    await click(app, APPROVER, posted, `approve:${quarantine}`);
    await waitForStatuses(app.ctx.db, [quarantine!], ["completed"]);
    const rejected = await submitView(app, APPROVER, "reject_action", String(stop), {
      reason: { reason: { type: "plain_text_input", value: "Backup agent, not malware" } },
    });
    expect(rejected.status).toBe(200);

    const res = await page(`/investigations/${investigation}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('name="viewport"');
    const text = visibleText(html);
    expect(text).toContain(`Investigation ${investigation}`);
    expect(text).toContain("Incident inc-77");
    expect(text).toMatch(/Quarantine file #\d+ completed/);
    expect(text).toMatch(/Stop service #\d+ rejected/);
    expect(text).toContain("LAPTOP-FIN-07");
    expect(text).toContain("invoice-1.exe");
    expect(text).toContain("EvilSvc2");
    expect(text).toContain("Automated investigation");
    expect(text).toContain(`Rejected by @${APPROVER}`);
    expect(text).toContain("Backup agent, not malware");

    // The quarantine's trail, in order: received, approved, started, completed.
    const card = html.slice(html.indexOf(`id="action-${quarantine}"`), html.indexOf(`id="action-${stop}"`));
    const trail = visibleText(card.slice(card.indexOf('class="trail"')));
    const kinds = [...trail.matchAll(/(Received|Approved|Started|Completed) by/g)].map((m) => m[1]);
    expect(kinds).toEqual(["Received", "Approved", "Started", "Completed"]);
    expect(trail).toContain(`Approved by @${APPROVER}`);
  });

  it("names people as Slack shows them (users.info's display name), the id where Slack has none", async () => {
    app.slackApi.setUser({ id: GROUP_APPROVER, name: "alice", realName: "Alice Approver" });
    const [id] = await ingest([actionBody("isolate_device", 9, { investigationId: undefined })]);
    const posted = await waitForMessage(app, id!);
    await click(app, GROUP_APPROVER, posted, `approve:${id}`);
    await waitForStatuses(app.ctx.db, [id!], ["completed"]);
    const text = visibleText(await (await page(`/actions/${id}`)).text());
    expect(text).toContain("Approved by @alice");
    expect(text).not.toContain(`@${GROUP_APPROVER}`);
    expect(app.slackApi.callsTo("users.info").some((c) => c.args.user === GROUP_APPROVER)).toBe(true);
  });

  it("escapes hostile values everywhere they appear", async () => {
    const investigation = `inv-${HOSTILE}`;
    const [id] = await ingest([
      {
        ...actionBody("quarantine_file", 3, {
          investigationId: investigation,
          device: { id: "dev-evil", name: `PC-${HOSTILE}` },
          entity: { sha256: "a".repeat(64), path: `C:\\Temp\\${HOSTILE}.exe` },
        }),
        source: "manual",
        requestedBy: `mallory${HOSTILE}@example.com`,
        comment: `see ${HOSTILE}`,
      },
    ]);
    const res = await page(`/investigations/${encodeURIComponent(investigation)}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    const text = visibleText(html);
    expect(text).toContain(`PC-${HOSTILE}`);
    expect(text).toContain(`mallory${HOSTILE}@example.com`);
    expect(text).toContain(`see ${HOSTILE}`);
    expect(text).toContain(`C:\\Temp\\${HOSTILE}.exe`);

    // The action's own page links to its investigation, the id encoded in the path and escaped.
    const own = await (await page(`/actions/${id}`)).text();
    expect(own).toContain(`<a href="/investigations/${encodeURIComponent(investigation)}">`);
    expect(own).not.toContain("<script>alert");
    expect(visibleText(own)).toContain(`Part of investigation ${investigation}`);
  });

  it("shows an action outside any investigation on its own page", async () => {
    const [id] = await ingest([
      actionBody("isolate_device", 4, {
        investigationId: undefined,
        device: { id: "dev-sql", name: "SRV-SQL-02" },
      }),
    ]);
    const posted = await waitForMessage(app, id!);
    const link = buttonsOf(posted).find((b) => b.action_id === `open_investigation:${id}`);
    expect(new URL(link!.url!).pathname).toBe(`/actions/${id}`);
    const res = await page(`/actions/${id}`);
    expect(res.status).toBe(200);
    const text = visibleText(await res.text());
    expect(text).toContain(`Isolate device #${id} pending approval`);
    expect(text).toContain("SRV-SQL-02");
    expect(text).toContain("Received by the ingest API");
    expect(text).toContain("Release from isolation");
  });

  it("answers 404 with a page for unknown investigations and actions", async () => {
    for (const path of ["/investigations/no-such-investigation", "/actions/999999999", "/actions/abc"]) {
      const res = await page(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(visibleText(await res.text())).toContain("There is no such investigation or action here.");
    }
  });
});
