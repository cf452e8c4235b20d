// The names of the Live Response library scripts that carry out what Defender has no API for
// (shipped in defender/live-response/); DEFENDER_LIVE_RESPONSE_SCRIPTS renames any of them.
export const LIVE_RESPONSE_SCRIPT_DEFAULTS = {
  remove_registry_key: "ac-remove-registry-key.ps1",
  restore_registry_key: "ac-restore-registry-key.ps1",
  stop_service: "ac-stop-service.ps1",
  start_service: "ac-start-service.ps1",
  disable_driver: "ac-disable-driver.ps1",
  enable_driver: "ac-enable-driver.ps1",
  remove_scheduled_task: "ac-remove-scheduled-task.ps1",
  restore_scheduled_task: "ac-restore-scheduled-task.ps1",
  stop_process: "ac-stop-process.ps1",
  restore_file: "ac-restore-file.ps1",
} as const;
export type ScriptKey = keyof typeof LIVE_RESPONSE_SCRIPT_DEFAULTS;
export type LiveResponseScripts = Record<ScriptKey, string>;
export const SCRIPT_KEYS = Object.keys(LIVE_RESPONSE_SCRIPT_DEFAULTS) as [ScriptKey, ...ScriptKey[]];
