// Writes a policy file where POLICY_FILE can point at it: a document as JSON, a string as it is.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function writePolicyFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), "ac-policy-")), "policy.json");
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
}
