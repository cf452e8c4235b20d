// Reads the policy file named by POLICY_FILE (JSON). Any problem stops the start with one line.
import { readFileSync } from "node:fs";
import { DEFAULT_POLICY, type Policy, parsePolicy } from "../domain/policy.ts";

export class PolicyError extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = "PolicyError";
  }
}

/** The policy in `path`, laid over the defaults; the defaults alone when no path is given. */
export function loadPolicy(path: string | undefined): Policy {
  if (path === undefined) return DEFAULT_POLICY;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PolicyError(
      `${path}: cannot be read (${code === "ENOENT" ? "no such file" : (code ?? error)})`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new PolicyError(`${path}: is not valid JSON (${(error as Error).message})`);
  }
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new PolicyError(`${path}: ${parsed.message}`);
  return parsed.policy;
}
