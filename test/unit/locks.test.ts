import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOCK_SPACES } from "../../src/db/locks.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("advisory lock spaces", () => {
  it("are distinct numbers", () => {
    const numbers = Object.values(LOCK_SPACES);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of numbers) expect(Number.isInteger(n) && n > 0 && n < 2 ** 31).toBe(true);
  });

  it("are taken only through the registry: no advisory lock names a number of its own", () => {
    const offenders = sourceFiles("src")
      .filter((file) => !file.endsWith("db/locks.ts"))
      .filter((file) => /pg_(try_)?advisory_(xact_)?lock\(\s*\d/.test(readFileSync(file, "utf8")));
    expect(offenders).toEqual([]);
  });
});
