// Windows paths put in the one form Windows itself resolves them to, so that auto-approval's
// folder rule cannot be walked around by spelling: `/` or `\`, doubled separators, `.` and `..`,
// trailing dots and spaces on a component (Win32 drops them), and case (NTFS ignores it) all
// collapse. What cannot be resolved without the device itself — an 8.3 short name (PROGRA~1), an
// environment variable (%SystemRoot%), a device or NT prefix (\\?\, \\.\, \??\), a share
// (\\host\C$\), a path relative to a drive's current folder (C:Windows) or to the current drive
// (\Windows) — is refused: whoever asks must then treat the path as unknown (fail closed).
import { type Refusal, type Result, refuse } from "./result.ts";

/** A file path (`C:\…`), or a Task Scheduler path (`\Folder\Task`) of a scheduled task. */
export type PathKind = "file" | "task";

/** The drive (file paths only) and the components, case folded: compare these, never the text. */
export type CanonicalPath = { kind: PathKind; drive: string | null; components: string[] };

export type Canonicalised = Result<{ path: CanonicalPath }, "uncanonical_path">;

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f<>"|?*]/;
const ENVIRONMENT_VARIABLE = /%[^%\\/]+%|\$env:/i;
const SHORT_NAME = /~\d/;
const ONLY_DOTS_AND_SPACES = /^[. ]+$/;
const TRAILING_DOTS_AND_SPACES = /[. ]+$/;
// Names Win32 maps to devices whatever the folder or extension (NUL, NUL.txt, C:\Temp\COM1).
const DEVICE_NAME = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
// Look-alikes that Windows' best-fit code pages turn into \ / : or . when a path passes through an
// ANSI API (the yen and won signs are the backslash of Japanese and Korean code pages).
const BEST_FIT_LOOKALIKES = /[\uff3c\uff0f\u2215\u2216\u29f5\ufe68\u00a5\u20a9\uff1a\uff0e\u2024]/;
// A lone surrogate can name no file: it is not text.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Case folded one character at a time, as NTFS's upcase table does (no character becomes two):
 * lower-cased first, so that look-alikes Windows also folds (K for the Kelvin sign) compare equal.
 */
function foldCase(text: string): string {
  let folded = "";
  for (const character of text) {
    const lower = character.toLowerCase();
    const upper = (lower.length === character.length ? lower : character).toUpperCase();
    folded += upper.length === character.length ? upper : character;
  }
  return folded;
}

function notCanonical(path: string, why: string): Refusal<"uncanonical_path"> {
  return refuse("uncanonical_path", `${JSON.stringify(path)} cannot be put in canonical form: ${why}`);
}

/** The path's components, resolved; `dots` says whether `.` and `..` are resolved or refused. */
function resolveComponents(
  raw: string,
  rest: string,
  dots: "resolve" | "refuse",
): Result<{ components: string[] }, "uncanonical_path"> {
  const components: string[] = [];
  // Doubled separators and a trailing one name the same folder: empty components are dropped.
  for (const part of rest.split(/[\\/]+/).filter((p) => p !== "")) {
    if ((part === "." || part === "..") && dots === "refuse") {
      return notCanonical(raw, `"${part}" is not resolved in this kind of path`);
    }
    if (part === ".") continue;
    if (part === "..") {
      // Windows stops at the root: C:\..\Windows is C:\Windows.
      components.pop();
      continue;
    }
    if (ONLY_DOTS_AND_SPACES.test(part))
      return notCanonical(raw, `the component "${part}" is only dots and spaces`);
    // Win32 drops trailing dots and spaces: C:\Windows.\ and C:\Windows \ are C:\Windows\.
    const name = part.replace(TRAILING_DOTS_AND_SPACES, "");
    if (SHORT_NAME.test(name)) return notCanonical(raw, `"${part}" looks like an 8.3 short name`);
    if (name.includes(":")) return notCanonical(raw, `"${part}" holds a colon (a stream or a drive)`);
    if (DEVICE_NAME.test(name.replace(/ +(?=\.|$)/, "")))
      return notCanonical(raw, `"${part}" is a device name`);
    components.push(foldCase(name));
  }
  return { ok: true, components };
}

function commonRefusal(raw: string): Canonicalised | null {
  if (raw.trim() === "") return notCanonical(raw, "it is empty");
  if (LONE_SURROGATE.test(raw)) return notCanonical(raw, "it holds a lone surrogate");
  if (FORBIDDEN_CHARACTERS.test(raw)) {
    return notCanonical(raw, 'it holds a control character or one of < > " | ? *');
  }
  if (BEST_FIT_LOOKALIKES.test(raw)) {
    return notCanonical(raw, "it holds a look-alike of a separator, colon or dot");
  }
  if (ENVIRONMENT_VARIABLE.test(raw)) return notCanonical(raw, "it names an environment variable");
  return null;
}

/** A drive-absolute Windows file path (`C:\…` or `C:/…`), resolved as Win32 resolves it. */
export function canonicalFilePath(raw: string): Canonicalised {
  // The prefixes first: their ? is a prefix, not a wildcard, and says more.
  if (/^[\\/]{2}/.test(raw))
    return notCanonical(raw, "it is a share or device path (\\\\host\\…, \\\\?\\, \\\\.\\)");
  if (/^[\\/]\?\?[\\/]/.test(raw)) return notCanonical(raw, "it is an NT object path (\\??\\)");
  const refused = commonRefusal(raw);
  if (refused) return refused;
  const drive = /^([A-Za-z]):(.*)$/s.exec(raw);
  if (!drive) {
    return notCanonical(
      raw,
      /^[\\/]/.test(raw) ? "it has no drive (relative to the current drive)" : "it is a relative path",
    );
  }
  const [, letter, rest] = drive as unknown as [string, string, string];
  if (!/^[\\/]/.test(rest)) {
    return notCanonical(raw, "it is relative to the drive's current folder (no separator after the colon)");
  }
  const resolved = resolveComponents(raw, rest, "resolve");
  if (!resolved.ok) return resolved;
  return { ok: true, path: { kind: "file", drive: letter.toUpperCase(), components: resolved.components } };
}

/** A Task Scheduler path (`\Microsoft\Windows\Task`): rooted, no `.` or `..`. */
export function canonicalTaskPath(raw: string): Canonicalised {
  const refused = commonRefusal(raw);
  if (refused) return refused;
  if (!/^[\\/](?![\\/])/.test(raw)) {
    return notCanonical(raw, "a task path starts with one \\ (the root of the task library)");
  }
  const resolved = resolveComponents(raw, raw, "refuse");
  if (!resolved.ok) return resolved;
  return { ok: true, path: { kind: "task", drive: null, components: resolved.components } };
}

export function canonicalPath(raw: string, kind: PathKind): Canonicalised {
  return kind === "file" ? canonicalFilePath(raw) : canonicalTaskPath(raw);
}

/** Whether `path` is `folder` itself or anywhere below it (whole components, never half a name). */
export function isWithin(path: CanonicalPath, folder: CanonicalPath): boolean {
  return (
    path.kind === folder.kind &&
    path.drive === folder.drive &&
    folder.components.length <= path.components.length &&
    folder.components.every((component, i) => path.components[i] === component)
  );
}
