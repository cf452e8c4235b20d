// The Dockerfile's steps, run as a script: no Docker engine runs here, so its instructions are read
// and carried out on this machine, each stage in a directory of its own standing for the stage's
// filesystem, from a copy of the build context (the repository minus .dockerignore). What this
// cannot exercise: the base image itself (this machine's Node 20 and Debian stand in for
// node:20-bookworm-slim), the engine's layer cache and isolation, and USER (the steps run as the
// test's user; the check is that the image names a non-root one).
import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, posix } from "node:path";
import { promisify } from "node:util";

const ROOT = new URL("../..", import.meta.url).pathname;

type Step =
  | { kind: "WORKDIR"; path: string }
  | { kind: "COPY"; from?: string; sources: string[]; dest: string }
  | { kind: "RUN"; command: string; cacheMounts: string[] }
  | { kind: "ENV"; values: Record<string, string> };

export type Stage = {
  name?: string;
  image: string;
  steps: Step[];
  user?: string;
  expose: string[];
  healthcheck?: { options: Record<string, string>; command: string[] };
  cmd?: string[];
};

/** The Dockerfile's stages, with line continuations joined and comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const instructions: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && pending === "")) continue;
    const continued = line.endsWith("\\");
    pending += `${continued ? line.slice(0, -1) : line} `;
    if (!continued) {
      instructions.push(pending.trim());
      pending = "";
    }
  }
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    const [keyword = "", ...words] = instruction.split(/\s+/);
    const rest = instruction.slice(keyword.length).trim();
    const stage = stages.at(-1);
    if (keyword === "FROM") {
      const [image = "", as, name] = words;
      stages.push({ image, ...(as?.toUpperCase() === "AS" && { name }), steps: [], expose: [] });
      continue;
    }
    if (!stage) throw new Error(`Dockerfile: ${keyword} before FROM`);
    switch (keyword) {
      case "WORKDIR":
        stage.steps.push({ kind: "WORKDIR", path: rest });
        break;
      case "COPY": {
        const from = words[0]?.startsWith("--from=") ? words.shift()!.slice("--from=".length) : undefined;
        if (words.some((w) => w.startsWith("--")))
          throw new Error(`Dockerfile: unsupported COPY flag in ${rest}`);
        const dest = words.pop()!;
        stage.steps.push({ kind: "COPY", ...(from && { from }), sources: words, dest });
        break;
      }
      case "RUN": {
        const cacheMounts: string[] = [];
        while (words[0]?.startsWith("--")) {
          const flag = words.shift()!;
          const mount = /^--mount=type=cache,target=(\S+)$/.exec(flag);
          if (!mount) throw new Error(`Dockerfile: RUN ${flag} is not carried out by this test`);
          cacheMounts.push(mount[1]!);
        }
        const command = words.join(" ");
        if (command.startsWith("[")) throw new Error("Dockerfile: RUN in exec form is not supported here");
        stage.steps.push({ kind: "RUN", command, cacheMounts });
        break;
      }
      case "ENV":
        stage.steps.push({
          kind: "ENV",
          values: Object.fromEntries(words.map((w) => w.split("=") as [string, string])),
        });
        break;
      case "USER":
        stage.user = rest;
        break;
      case "EXPOSE":
        stage.expose.push(...words);
        break;
      case "HEALTHCHECK": {
        const at = rest.indexOf("CMD ");
        const options = Object.fromEntries(
          rest
            .slice(0, at)
            .trim()
            .split(/\s+/)
            .map((o) => o.replace(/^--/, "").split("=") as [string, string]),
        );
        stage.healthcheck = { options, command: JSON.parse(rest.slice(at + "CMD ".length)) };
        break;
      }
      case "CMD":
        stage.cmd = JSON.parse(rest);
        break;
      default:
        throw new Error(`Dockerfile: ${keyword} is not carried out by this test; teach it`);
    }
  }
  return stages;
}

/** A .dockerignore pattern as a regular expression over paths relative to the context. */
function ignorePattern(pattern: string): RegExp {
  if (pattern.startsWith("!")) throw new Error(".dockerignore: exceptions (!) are not handled by this test");
  const cleaned = posix.normalize(pattern.replace(/^\/+/, "")).replace(/\/+$/, "");
  const source = cleaned
    .split(/(\*\*|\*|\?)/)
    .map((part) =>
      part === "**"
        ? ".*"
        : part === "*"
          ? "[^/]*"
          : part === "?"
            ? "[^/]"
            : part.replace(/[.+^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${source}$`);
}

/** Whether .dockerignore keeps a path (relative to the context) out of the build context. */
export function dockerIgnores(): (path: string) => boolean {
  const patterns = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map(ignorePattern);
  // A directory left out takes everything under it along.
  return (path) => {
    const parts = path.split("/");
    return parts.some((_, i) => patterns.some((p) => p.test(parts.slice(0, i + 1).join("/"))));
  };
}

/** The build context Docker would send: the repository without what .dockerignore names. */
function copyContext(into: string): string[] {
  const ignored = dockerIgnores();
  const copied: string[] = [];
  const walk = (relative: string) => {
    for (const name of readdirSync(join(ROOT, relative))) {
      const path = relative === "" ? name : `${relative}/${name}`;
      if (ignored(path)) continue;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else {
        cpSync(join(ROOT, path), join(into, path));
        copied.push(path);
      }
    }
  };
  walk("");
  return copied;
}

export type BuiltImage = {
  stages: Stage[];
  /** The final stage's WORKDIR on this machine, and its ENV. */
  workdir: string;
  env: Record<string, string>;
  /** Every file of the build context, relative to it. */
  context: string[];
  /** Each RUN, as carried out, in the Dockerfile's order. */
  ran: string[];
  /** Deletes every stage's directory and the context copy. */
  remove(): void;
};

/** The one cache mount these steps know: npm's, which is this machine's npm cache. */
const NPM_CACHE_TARGET = "/root/.npm";

/**
 * Carries out every stage, side by side as BuildKit does: a stage waits only at a COPY --from
 * for the stage it copies from. A RUN sees this machine's PATH; under npm's cache mount npm
 * uses this machine's cache, offline first (the engine would keep the mount between builds),
 * and without it a cache of the stage's own, as in a fresh container.
 */
export async function buildAsDockerfileSays(): Promise<BuiltImage> {
  const stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  const top = mkdtempSync(join(tmpdir(), "ac-image-"));
  const context = join(top, "context");
  const files = copyContext(context);
  const roots = stages.map((_, index) => join(top, `stage-${index}`));
  const ran = stages.map(() => [] as string[]);
  const done: Promise<{ workdir: string; env: Record<string, string> }>[] = [];
  const hostNpmCache = join(process.env.HOME ?? "/root", ".npm");

  async function carryOut(index: number) {
    const stage = stages[index]!;
    const root = roots[index]!;
    mkdirSync(root);
    let workdir = "/";
    const env: Record<string, string> = {};
    const at = (path: string) => join(root, posix.resolve(workdir, path));
    for (const step of stage.steps) {
      switch (step.kind) {
        case "WORKDIR":
          workdir = posix.resolve(workdir, step.path);
          mkdirSync(at("."), { recursive: true });
          break;
        case "ENV":
          Object.assign(env, step.values);
          break;
        case "COPY": {
          const from = step.from === undefined ? -1 : stages.findIndex((s) => s.name === step.from);
          if (step.from !== undefined && from < 0) throw new Error(`COPY --from=${step.from}: no such stage`);
          if (from >= 0) await done[from];
          const base = from < 0 ? context : roots[from]!;
          const intoDirectory = step.dest.endsWith("/") || step.sources.length > 1;
          for (const source of step.sources) {
            const path = join(base, from < 0 ? source : posix.resolve("/", source));
            if (!existsSync(path))
              throw new Error(`COPY ${source}: not in the ${from < 0 ? "context" : "stage"}`);
            const target =
              statSync(path).isDirectory() || !intoDirectory
                ? at(step.dest)
                : join(at(step.dest), basename(path));
            cpSync(path, target, { recursive: true });
          }
          break;
        }
        case "RUN": {
          const unknown = step.cacheMounts.filter((target) => target !== NPM_CACHE_TARGET);
          if (unknown.length > 0)
            throw new Error(`RUN: no stand-in for the cache mount ${unknown.join(", ")}`);
          const npmCache = step.cacheMounts.length > 0 ? hostNpmCache : join(root, NPM_CACHE_TARGET);
          ran[index]!.push(step.command);
          await promisify(execFile)("sh", ["-c", step.command], {
            cwd: at("."),
            env: {
              PATH: process.env.PATH!,
              HOME: process.env.HOME ?? "/root",
              npm_config_cache: npmCache,
              npm_config_prefer_offline: "true",
              ...env,
            },
            maxBuffer: 64 * 1024 * 1024,
          });
          break;
        }
      }
    }
    return { workdir: at("."), env };
  }

  for (const index of stages.keys()) done.push(carryOut(index));
  const remove = () => rmSync(top, { recursive: true, force: true });
  // Every stage's failure is reported, not only the first awaited.
  const results = await Promise.allSettled(done);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    remove();
    throw failed.reason;
  }
  const last = await done.at(-1)!;
  return { stages, workdir: last.workdir, env: last.env, context: files, ran: ran.flat(), remove };
}
