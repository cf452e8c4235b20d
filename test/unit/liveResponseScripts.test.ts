// The live response scripts shipped in defender/live-response/ against what the worker sends them:
// PowerShell cannot run here, so each script's param() block is parsed and compared with the
// arguments planRequest builds for every action type and operation that runs a script.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { planRequest } from "../../src/backend/defender/requests.ts";
import { LIVE_RESPONSE_SCRIPT_DEFAULTS } from "../../src/config/liveResponseScripts.ts";
import type { ActionRow } from "../../src/db/schema.ts";
import { ACTION_TYPES, type ActionType, type Entity } from "../../src/domain/actionTypes.ts";
import { ENTITY_FOR, sha256Of } from "../support/fixtures.ts";

const FOLDER = new URL("../../defender/live-response/", import.meta.url);
const SETTINGS = {
  isolationType: "Full" as const,
  scripts: { ...LIVE_RESPONSE_SCRIPT_DEFAULTS },
  installationId: "0123456789abcdef",
};

type Param = { name: string; type: string; mandatory: boolean };

/** The script without its comments, so that words in the help text are not read as code. */
function code(script: string): string {
  return script.replace(/<#[\s\S]*?#>/g, "").replace(/#[^\n]*/g, "");
}

/** The parameters of the script's top-level param() block: name, declared type, Mandatory. */
function parseParams(script: string): Param[] {
  const text = code(script);
  const start = text.search(/\bparam\s*\(/i);
  if (start < 0) throw new Error("no param() block");
  const open = text.indexOf("(", start);
  let depth = 0;
  let end = -1;
  for (let i = open; i < text.length && end < 0; i++) {
    if (text[i] === "(") depth += 1;
    if (text[i] === ")" && --depth === 0) end = i;
  }
  const body = text.slice(open + 1, end);
  const parts: string[] = [];
  let current = "";
  let nesting = 0;
  for (const char of body) {
    if ("([".includes(char)) nesting += 1;
    if (")]".includes(char)) nesting -= 1;
    if (char === "," && nesting === 0) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  parts.push(current);
  return parts
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const name = /\$(\w+)\s*(=[\s\S]*)?$/.exec(part)?.[1];
      const types = [...part.matchAll(/\[(\w+(?:\[\])?)\]/g)].map((m) => m[1]!);
      if (!name) throw new Error(`cannot read the parameter ${part}`);
      return {
        name,
        type: types.at(-1)?.toLowerCase() ?? "object",
        mandatory: /\[Parameter\([^)]*\bMandatory\b(\s*=\s*\$true)?[^)]*\)\]/i.test(part),
      };
    });
}

/** `-Key 'HKLM\x' -ActionId 42` → [["Key", "'HKLM\x'"], ["ActionId", "42"]]. */
function flags(args: string): [string, string][] {
  return [...args.matchAll(/-(\w+)\s+('(?:[^']|'')*'|\S+)/g)].map((m) => [m[1]!, m[2]!]);
}

function action(type: ActionType, entity: Entity): ActionRow {
  return {
    id: 42,
    type,
    deviceId: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
    deviceName: "LAPTOP-7",
    entity,
    comment: null,
    decidedBy: "U0APPROVER1",
    attempt: 1,
    undoAttempt: 1,
  } as ActionRow;
}

/** Each type's entity with every field, and with only what it must have. */
const ENTITIES: Partial<Record<ActionType, Entity[]>> = {
  quarantine_file: [ENTITY_FOR.quarantine_file(1) as Entity, { sha256: sha256Of(1) }],
  remove_registry_key: [ENTITY_FOR.remove_registry_key(1) as Entity, { key: "HKLM\\Software\\Evil" }],
  stop_service: [ENTITY_FOR.stop_service(1) as Entity],
  disable_driver: [ENTITY_FOR.disable_driver(1) as Entity],
  remove_scheduled_task: [ENTITY_FOR.remove_scheduled_task(1) as Entity],
  stop_process: [ENTITY_FOR.stop_process(1) as Entity, { pid: 7 }, { imagePath: "C:\\Temp\\x.exe" }],
};

/** Every live response call the worker makes: the script and the Args it sends. */
const CALLS = ACTION_TYPES.flatMap((type) =>
  (["apply", "undo"] as const).flatMap((operation) =>
    (ENTITIES[type] ?? [{}]).flatMap((entity) => {
      let request: ReturnType<typeof planRequest>;
      try {
        request = planRequest(action(type, entity), operation, SETTINGS);
      } catch {
        return []; // not undoable
      }
      if (request.kind !== "machine_action" || request.script === null) return [];
      const params = (request.body.Commands as { params: { key: string; value: string }[] }[])[0]!.params;
      const args = params.find((p) => p.key === "Args")!.value;
      return [{ type, operation, script: request.script, args, entity }];
    }),
  ),
);

describe("defender.liveResponseScripts", () => {
  it("ships exactly one script per name the worker uses", () => {
    const shipped = readdirSync(FOLDER)
      .filter((name) => name.endsWith(".ps1"))
      .sort();
    expect(shipped).toEqual(Object.values(LIVE_RESPONSE_SCRIPT_DEFAULTS).sort());
    expect(new Set(CALLS.map((call) => call.script))).toEqual(new Set(shipped));
  });

  it.each(
    CALLS.map((call) => [`${call.type} ${call.operation} → ${call.script} ${call.args}`, call] as const),
  )(
    "%s: every argument is a parameter of the script, of its type, and every mandatory one is sent",
    (_label, call) => {
      const params = parseParams(readFileSync(new URL(call.script, FOLDER), "utf8"));
      const sent = flags(call.args);
      expect(sent.length).toBeGreaterThan(0);
      for (const [name, value] of sent) {
        const param = params.find((p) => p.name.toLowerCase() === name.toLowerCase());
        expect(param, `-${name} is not a parameter of ${call.script}`).toBeDefined();
        if (["int", "long"].includes(param!.type)) expect(value).toMatch(/^\d+$/);
        else expect(param!.type).toBe("string");
        if (param!.type === "string") expect(value).toMatch(/^'.*'$/s);
      }
      for (const param of params.filter((p) => p.mandatory)) {
        expect(
          sent.map(([name]) => name.toLowerCase()),
          `${call.script} needs -${param.name}`,
        ).toContain(param.name.toLowerCase());
      }
    },
  );

  it.each(Object.values(LIVE_RESPONSE_SCRIPT_DEFAULTS))(
    "%s keeps what it touches under the action id and exits non-zero on failure",
    (name) => {
      const script = code(readFileSync(new URL(name, FOLDER), "utf8"));
      expect(script).toContain("$ErrorActionPreference = 'Stop'");
      expect(script).toMatch(/Join-Path \$env:ProgramData "ActionCenter\\\$ActionId"/);
      expect(script).toMatch(/catch \{[^}]*exit 1\s*\}/);
      expect(script).toMatch(/\bexit 0\b/);
      expect(parseParams(script).find((p) => p.name === "ActionId")).toEqual({
        name: "ActionId",
        type: "long",
        mandatory: true,
      });
    },
  );

  it("reads a param() block the way PowerShell declares one", () => {
    expect(
      parseParams(
        "<# param(fake) #>\n[CmdletBinding()]\nparam(\n  [Parameter(Mandatory = $true)][string]$Key, # the key\n  [string]$ValueName = 'x',\n  [Parameter(Mandatory)][int[]]$Ids,\n  $Loose\n)\n",
      ),
    ).toEqual([
      { name: "Key", type: "string", mandatory: true },
      { name: "ValueName", type: "string", mandatory: false },
      { name: "Ids", type: "int[]", mandatory: true },
      { name: "Loose", type: "object", mandatory: false },
    ]);
  });
});
