// Realistic action objects for tests, one per type, varied by a sequence number.
import type { ActionType } from "../../src/domain/actionTypes.ts";

export const sha256Of = (n: number) => n.toString(16).padStart(64, "0").replace(/^0/, "a");
export const sha1Of = (n: number) => n.toString(16).padStart(40, "0").replace(/^0/, "b");

export const ENTITY_FOR: Record<ActionType, (n: number) => Record<string, unknown>> = {
  isolate_device: () => ({}),
  restrict_code_execution: () => ({}),
  quarantine_file: (n) => ({
    sha256: sha256Of(n),
    sha1: sha1Of(n),
    path: `C:\\Users\\kim\\Downloads\\invoice-${n}.exe`,
  }),
  remove_registry_key: (n) => ({
    key: `HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`,
    valueName: `updater${n}`,
  }),
  stop_service: (n) => ({ name: `EvilSvc${n}` }),
  disable_driver: (n) => ({ name: `rootkit${n}.sys` }),
  remove_scheduled_task: (n) => ({ path: `\\Microsoft\\Windows\\Updater${n}` }),
  stop_process: (n) => ({ pid: 4000 + n, imagePath: `C:\\Temp\\miner${n}.exe` }),
  block_url: (n) => ({ url: `https://evil${n}.example.com/payload` }),
  run_antivirus_scan: () => ({}),
  collect_investigation_package: () => ({}),
};

export function actionBody(
  type: ActionType,
  n: number,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    externalId: `ext-${type}-${n}`,
    source: "automated_investigation",
    type,
    investigationId: `inv-${Math.floor(n / 10)}`,
    ...(type !== "block_url" && { device: { id: `dev-${n % 50}`, name: `LAPTOP-${n % 50}` } }),
    entity: ENTITY_FOR[type](n),
    ...overrides,
  };
}
