// GET /api/v1/actions: filters, newest first, and cursor pages that stay stable under inserts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { actionBody, sha256Of } from "../support/fixtures.ts";

let app: TestApp;
type Listed = {
  actions: {
    id: string;
    type: string;
    status: string;
    device?: { id: string };
    investigationId?: string;
    entity: { sha256?: string };
  }[];
  nextCursor: string | null;
};
const list = async (query: string): Promise<Listed> => {
  const res = await app.api(`/api/v1/actions?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Listed;
};

beforeAll(async () => {
  app = await startTestApp("list", { role: "web" });
  const types = ["quarantine_file", "isolate_device", "stop_service"] as const;
  const batch = Array.from({ length: 90 }, (_, i) =>
    actionBody(types[i % 3]!, i, { status: i % 9 === 0 ? "completed" : "pending" }),
  );
  const res = await app.api("/api/v1/actions", { method: "POST", body: JSON.stringify({ actions: batch }) });
  expect(res.status).toBe(201);
});
afterAll(() => app?.close());

describe("list filters", () => {
  it("lists newest first", async () => {
    const { actions } = await list("limit=500");
    expect(actions).toHaveLength(90);
    const ids = actions.map((a) => Number(a.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it.each([
    ["type=isolate_device", (a: Listed["actions"][number]) => a.type === "isolate_device", 30],
    ["status=completed", (a: Listed["actions"][number]) => a.status === "completed", 10],
    ["status=completed,pending", () => true, 90],
    ["deviceId=dev-7", (a: Listed["actions"][number]) => a.device?.id === "dev-7", 2],
    ["investigationId=inv-3", (a: Listed["actions"][number]) => a.investigationId === "inv-3", 10],
    [
      `sha256=${sha256Of(3).toUpperCase()}`,
      (a: Listed["actions"][number]) => a.entity.sha256 === sha256Of(3),
      1,
    ],
    [
      "type=quarantine_file&status=completed",
      (a: Listed["actions"][number]) => a.type === "quarantine_file" && a.status === "completed",
      10,
    ],
  ])("%s", async (query, keep, expected) => {
    const { actions } = await list(`${query}&limit=500`);
    expect(actions).toHaveLength(expected);
    expect(actions.every(keep)).toBe(true);
  });

  it.each([
    ["status=bogus", "query.status"],
    ["type=format_disk", "query.type"],
    ["limit=0", "query.limit"],
    ["limit=many", "query.limit"],
    ["cursor=abc", "query.cursor"],
    ["sha256=xyz", "query.sha256"],
    ["color=red", "query"],
    ["status=pending&status=completed", "query.status"],
  ])("refuses %s naming %s", async (query, path) => {
    const res = await app.api(`/api/v1/actions?${query}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: { path: string }[] };
    expect(body.error).toBe("invalid_request");
    expect(body.issues[0]!.path).toBe(path);
  });
});

describe("pagination", () => {
  it("walks every action exactly once while new ones arrive", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const result: Listed = await list(`limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...result.actions.map((a) => a.id));
      cursor = result.nextCursor;
      // Newer actions arrive between pages; they must not shift the pages being walked.
      await app.api("/api/v1/actions", {
        method: "POST",
        body: JSON.stringify(actionBody("disable_driver", 5000 + page)),
      });
      page += 1;
    } while (cursor !== null);
    expect(seen).toHaveLength(new Set(seen).size);
    const all = await list("limit=500");
    const original = all.actions.filter((a) => a.type !== "disable_driver").map((a) => a.id);
    expect(seen.filter((id) => original.includes(id))).toEqual(original);
    expect(seen.length).toBe(90);
  });
});
