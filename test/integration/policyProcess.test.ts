// A bad policy file stops `npm start` before it serves, with one line naming the problem.
import { describe, expect, it } from "vitest";
import { writePolicyFile } from "../support/policyFile.ts";
import { npmStart } from "../support/process.ts";

describe("npm start with POLICY_FILE", () => {
  it.each([
    [
      "an invalid rule",
      { types: { isolate_device: { approvers: ["tier2"] } } },
      "types.isolate_device.approvers[0] must be a Slack user ID (U…) or user-group ID (S…)",
    ],
    ["a file that is not JSON", "ttl: 7d", "is not valid JSON ("],
  ])("stops at start on %s", async (_what, content, problem) => {
    const path = writePolicyFile(content);
    const app = npmStart({ POLICY_FILE: path, INGEST_TOKEN: "a-secret-that-must-not-show" });
    expect(await app.exited).toBe(1);
    const lines = app.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`action-center: configuration error: POLICY_FILE ${path}: ${problem}`);
    expect(app.output()).not.toContain("a-secret-that-must-not-show");
  });
});
