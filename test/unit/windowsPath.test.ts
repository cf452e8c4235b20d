// Windows paths in canonical form: every spelling Windows resolves to one file compares equal, and
// whatever cannot be resolved without the device is refused, never guessed.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CanonicalPath,
  canonicalFilePath,
  canonicalTaskPath,
  isWithin,
} from "../../src/domain/windowsPath.ts";

const canonical = (raw: string): CanonicalPath => {
  const result = canonicalFilePath(raw);
  if (!result.ok) throw new Error(result.message);
  return result.path;
};
const text = (path: CanonicalPath) => `${path.drive ?? ""}:\\${path.components.join("\\")}`;

describe("canonicalFilePath", () => {
  it.each([
    ["C:\\Windows\\System32\\drivers", "C:\\WINDOWS\\SYSTEM32\\DRIVERS"],
    ["c:/windows/system32/", "C:\\WINDOWS\\SYSTEM32"],
    ["C:\\\\Windows\\\\\\System32", "C:\\WINDOWS\\SYSTEM32"],
    ["C:\\Temp\\..\\Windows", "C:\\WINDOWS"],
    ["C:\\..\\..\\Windows", "C:\\WINDOWS"],
    ["C:\\.\\Windows\\.\\x", "C:\\WINDOWS\\X"],
    ["C:\\Windows.\\x", "C:\\WINDOWS\\X"],
    ["C:\\Windows \\x", "C:\\WINDOWS\\X"],
    ["C:\\Windows . .\\x. ", "C:\\WINDOWS\\X"],
    ["C:\\Program Files (x86)\\Vendor", "C:\\PROGRAM FILES (X86)\\VENDOR"],
    ["C:\\Users\\José\\résumé.pdf", "C:\\USERS\\JOSÉ\\RÉSUMÉ.PDF"],
    // Leading spaces and inner dots are part of a name.
    ["C:\\ Windows\\a.b.c", "C:\\ WINDOWS\\A.B.C"],
    ["C:\\", "C:\\"],
    ["C:\\Windows\\System32\\..\\..", "C:\\"],
  ])("%j → %s", (raw, expected) => {
    expect(text(canonical(raw))).toBe(expected);
  });

  it.each([
    ["\\\\?\\C:\\Windows", /share or device path/],
    ["\\\\.\\C:\\Windows", /share or device path/],
    ["\\\\localhost\\C$\\Windows", /share or device path/],
    ["\\??\\C:\\Windows", /NT object path/],
    ["C:Windows", /relative to the drive's current folder/],
    ["C:", /relative to the drive's current folder/],
    ["\\Windows", /no drive/],
    ["Windows\\System32", /relative path/],
    ["C:\\PROGRA~1\\x", /8\.3 short name/],
    ["%SystemRoot%\\x", /environment variable/],
    ["C:\\x\\%TEMP%", /environment variable/],
    ["C:\\file.txt:hidden", /colon/],
    ["C:\\Temp\\CON.txt", /device name/],
    ["C:\\Temp\\lpt1", /device name/],
    ["C:\\Temp\\...", /only dots and spaces/],
    ["C:\\Temp\\ \\x", /only dots and spaces/],
    ["C:\\Temp\\a?b", /control character or one of/],
    ["C:\\Temp\\a\u0001b", /control character or one of/],
    ["C:\\Temp\\\udc00", /lone surrogate/],
    ["C:\\Temp\u2215x", /look-alike/],
    ["", /empty/],
  ])("%j is refused (%s)", (raw, why) => {
    const result = canonicalFilePath(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe("uncanonical_path");
      expect(result.message).toMatch(why);
    }
  });

  it("compares whole components: C:\\WindowsApps is not under C:\\Windows", () => {
    const windows = canonical("C:\\Windows\\");
    expect(isWithin(canonical("C:\\Windows"), windows)).toBe(true);
    expect(isWithin(canonical("C:\\Windows\\x\\y"), windows)).toBe(true);
    expect(isWithin(canonical("C:\\WindowsApps\\x"), windows)).toBe(false);
    expect(isWithin(canonical("D:\\Windows\\x"), windows)).toBe(false);
    expect(isWithin(canonical("C:\\"), windows)).toBe(false);
  });
});

describe("canonicalTaskPath", () => {
  it("rooted at the task library; . and .. refused rather than guessed", () => {
    const task = canonicalTaskPath("/Microsoft//Windows./Defrag");
    expect(task.ok && task.path).toEqual({
      kind: "task",
      drive: null,
      components: ["MICROSOFT", "WINDOWS", "DEFRAG"],
    });
    expect(canonicalTaskPath("\\Vendor\\..\\Microsoft").ok).toBe(false);
    expect(canonicalTaskPath("Microsoft\\Windows").ok).toBe(false);
    expect(canonicalTaskPath("\\\\host\\Task").ok).toBe(false);
    expect(canonicalTaskPath("C:\\Windows").ok).toBe(false);
  });
  it("a task path and a file path never compare equal", () => {
    const task = canonicalTaskPath("\\Windows");
    expect(task.ok && isWithin(task.path, canonical("C:\\Windows"))).toBe(false);
  });
});

// --- Properties -----------------------------------------------------------------------------

const letter = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ é");
/** A plain name: no separator, no dots or spaces at its end, not a device name or short name. */
const name = fc
  .array(letter, { minLength: 1, maxLength: 12 })
  .map((cs) => `n${cs.join("")}`.replace(/[. ]+$/, ""))
  .filter((n) => !/~\d/.test(n) && !/^(nul|con|prn|aux)$/i.test(n));
const component = fc.oneof(fc.constant("Windows"), name);
const plainPath = fc.tuple(fc.constantFrom("C", "D"), fc.array(component, { minLength: 0, maxLength: 6 }));

/** The same path as Windows would resolve it, spelled some other way. */
const respelled = (drive: string, names: string[]) =>
  fc
    .tuple(
      fc.array(
        fc.record({
          separator: fc.constantFrom("\\", "/", "\\\\", "/\\", "//"),
          trailing: fc.constantFrom("", ".", " ", ". .", "  "),
          detour: fc.constantFrom(null, ".", "elsewhere\\..", "x. \\.."),
          flipCase: fc.boolean(),
        }),
        { minLength: names.length, maxLength: names.length },
      ),
      fc.boolean(),
      fc.boolean(),
    )
    .map(([spellings, lowerDrive, trailingSeparator]) => {
      let out = `${lowerDrive ? drive.toLowerCase() : drive}:`;
      names.forEach((n, i) => {
        const s = spellings[i]!;
        if (s.detour) out += `${s.separator}${s.detour}`;
        const cased = s.flipCase
          ? [...n].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join("")
          : n;
        out += `${s.separator}${cased}${s.trailing}`;
      });
      return names.length === 0 || trailingSeparator ? `${out}\\` : out;
    });

describe("canonicalFilePath properties", () => {
  it("every respelling Windows resolves to the same file has the same canonical form", () => {
    fc.assert(
      fc.property(
        plainPath.chain(([drive, names]) =>
          fc.tuple(fc.constant(`${drive}:\\${names.join("\\")}`), respelled(drive, names)),
        ),
        ([plain, variant]) => {
          expect(canonical(variant)).toEqual(canonical(plain));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a respelled path is under each of its folders and under no sibling of them", () => {
    fc.assert(
      fc.property(
        plainPath.chain(([drive, names]) =>
          fc.tuple(
            fc.constant([drive, names] as const),
            respelled(drive, names),
            fc.integer({ min: 0, max: names.length }),
          ),
        ),
        ([[drive, names], variant, depth]) => {
          const path = canonical(variant);
          const folder = names.slice(0, depth);
          expect(isWithin(path, canonical(`${drive}:\\${folder.join("\\")}`))).toBe(true);
          if (depth > 0) {
            const sibling = [...folder.slice(0, -1), `${folder.at(-1)}x`];
            expect(isWithin(path, canonical(`${drive}:\\${sibling.join("\\")}`))).toBe(false);
          }
          expect(isWithin(path, canonical("C:\\Windows\\"))).toBe(drive === "C" && names[0] === "Windows");
        },
      ),
      { numRuns: 500 },
    );
  });

  it("anything at all: refused, or a canonical form that is stable and clean", () => {
    const anyPath = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc
        .array(
          fc.constantFrom("C:", "\\", "/", ".", "..", " ", "~1", "%", "?", ":", "Windows", "x", "\u0000"),
          {
            maxLength: 12,
          },
        )
        .map((parts) => parts.join("")),
    );
    fc.assert(
      fc.property(anyPath, (raw) => {
        const result = canonicalFilePath(raw);
        if (!result.ok) return;
        for (const component of result.path.components) {
          expect(component).not.toMatch(/[\\/:]|[. ]$|^\.{1,2}$|~\d/);
          expect(component).not.toBe("");
        }
        expect(canonical(text(result.path))).toEqual(result.path);
      }),
      { numRuns: 2000 },
    );
  });
});
