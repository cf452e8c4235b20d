// The demo's simulated fleet: a few laptops and servers of a finance company, with the files, services,
// drivers, scheduled tasks, registry values and processes that the demo's actions act on, next to ordinary
// ones. Seeding is idempotent: rows already there are left as they are.
import { createHash } from "node:crypto";
import type { Db } from "../db/client.ts";
import {
  deviceDrivers,
  deviceFiles,
  deviceProcesses,
  deviceRegistryValues,
  deviceScheduledTasks,
  deviceServices,
  devices,
} from "../db/schema.ts";

export type DemoDevice = {
  name: string;
  files: string[];
  services: { name: string; state: "running" | "stopped"; startType: "automatic" | "manual" | "disabled" }[];
  drivers: string[];
  tasks: { path: string; command: string }[];
  registry: { key: string; valueName: string; data: string }[];
  processes: { pid: number; imagePath: string }[];
};

const hash = (algorithm: "sha1" | "sha256", text: string) => createHash(algorithm).update(text).digest("hex");

/** Defender's machine IDs are 40 hexadecimal characters; the demo derives one from the name. */
export const deviceIdOf = (name: string) => hash("sha1", `demo-device:${name}`);
export const fileHashes = (path: string) => ({
  sha256: hash("sha256", `demo-file:${path}`),
  sha1: hash("sha1", `demo-file:${path}`),
});

/** A trojanised installer copied to the public folder of several laptops: one file, several devices. */
export const SHARED_INSTALLER = "C:\\Users\\Public\\Downloads\\ZoomInstallerFull.exe";

const RUN_KEY = "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";
const HKLM_RUN_KEY = "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";
const windowsServices = [
  { name: "WinDefend", state: "running", startType: "automatic" },
  { name: "Spooler", state: "running", startType: "automatic" },
  { name: "wuauserv", state: "stopped", startType: "manual" },
] as const;

export const FLEET: DemoDevice[] = [
  {
    name: "LAPTOP-FIN-07",
    files: [
      "C:\\Users\\kim.larsen\\Downloads\\Invoice_0423.pdf.exe",
      "C:\\Users\\kim.larsen\\AppData\\Roaming\\OneDriveSync\\odsync.exe",
      "C:\\Users\\kim.larsen\\Documents\\Q3 forecast.xlsx",
    ],
    services: [...windowsServices],
    drivers: ["iaStorAC.sys"],
    tasks: [
      {
        path: "\\Microsoft\\Windows\\OneDriveSyncCheck",
        command: "C:\\Users\\kim.larsen\\AppData\\Roaming\\OneDriveSync\\odsync.exe /q",
      },
      {
        path: "\\Microsoft\\Office\\OfficeTelemetryAgentLogOn",
        command: "C:\\Program Files\\Microsoft Office\\root\\Office16\\msoia.exe",
      },
    ],
    registry: [
      {
        key: RUN_KEY,
        valueName: "OneDriveSync",
        data: "C:\\Users\\kim.larsen\\AppData\\Roaming\\OneDriveSync\\odsync.exe",
      },
      {
        key: RUN_KEY,
        valueName: "Teams",
        data: "C:\\Users\\kim.larsen\\AppData\\Local\\Microsoft\\Teams\\Update.exe",
      },
    ],
    processes: [
      { pid: 7312, imagePath: "C:\\Users\\kim.larsen\\AppData\\Roaming\\OneDriveSync\\odsync.exe" },
    ],
  },
  {
    name: "LAPTOP-HR-03",
    files: [
      "C:\\Users\\j.okafor\\Downloads\\Resume_JSmith.docm",
      "C:\\Users\\j.okafor\\Documents\\Onboarding.pdf",
      SHARED_INSTALLER,
    ],
    services: [...windowsServices],
    drivers: [],
    tasks: [],
    registry: [],
    processes: [],
  },
  {
    name: "SRV-SQL-02",
    files: ["C:\\ProgramData\\Microsoft\\Crypto\\RSA\\svch0st.exe", "D:\\MSSQL\\Backup\\finance_full.bak"],
    services: [
      { name: "MSSQLSERVER", state: "running", startType: "automatic" },
      { name: "SQLSERVERAGENT", state: "running", startType: "automatic" },
      { name: "WinRMHelperSvc", state: "running", startType: "automatic" },
      { name: "WinDefend", state: "running", startType: "automatic" },
    ],
    drivers: ["RTCore64.sys", "storport.sys"],
    tasks: [{ path: "\\SQL\\NightlyBackup", command: "sqlcmd -S localhost -i D:\\jobs\\backup.sql" }],
    registry: [
      {
        key: HKLM_RUN_KEY,
        valueName: "SecurityHealth",
        data: "%windir%\\system32\\SecurityHealthSystray.exe",
      },
    ],
    processes: [{ pid: 4188, imagePath: "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\svch0st.exe" }],
  },
  {
    name: "SRV-WEB-01",
    files: [
      "C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\error.aspx",
      "C:\\inetpub\\wwwroot\\web.config",
    ],
    services: [
      { name: "W3SVC", state: "running", startType: "automatic" },
      { name: "WAS", state: "running", startType: "automatic" },
    ],
    drivers: [],
    tasks: [
      {
        path: "\\Microsoft\\Windows\\IISLogRotate",
        command: "powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBi...",
      },
    ],
    registry: [],
    processes: [{ pid: 5620, imagePath: "C:\\Windows\\System32\\inetsrv\\w3wp.exe" }],
  },
  {
    name: "LAPTOP-DEV-12",
    files: [
      "C:\\Users\\raj.patel\\AppData\\Local\\Temp\\npm-cache\\_cacache\\postinstall.js",
      SHARED_INSTALLER,
    ],
    services: [...windowsServices],
    drivers: [],
    tasks: [],
    registry: [],
    processes: [],
  },
  {
    name: "LAPTOP-SALES-22",
    files: ["C:\\Users\\m.rossi\\AppData\\Local\\Temp\\chrome_update.exe", SHARED_INSTALLER],
    services: [...windowsServices],
    drivers: [],
    tasks: [
      {
        path: "\\GoogleUpdateTaskMachineCore",
        command: "C:\\Users\\m.rossi\\AppData\\Local\\Temp\\chrome_update.exe",
      },
    ],
    registry: [
      {
        key: RUN_KEY,
        valueName: "ChromeUpdater",
        data: "C:\\Users\\m.rossi\\AppData\\Local\\Temp\\chrome_update.exe",
      },
    ],
    processes: [],
  },
  {
    name: "SRV-DC-01",
    files: [],
    services: [
      { name: "NTDS", state: "running", startType: "automatic" },
      { name: "DNS", state: "running", startType: "automatic" },
    ],
    drivers: [],
    tasks: [],
    registry: [],
    processes: [],
  },
  {
    name: "KIOSK-LOBBY-01",
    files: [],
    services: [...windowsServices],
    drivers: [],
    tasks: [],
    registry: [],
    processes: [],
  },
];

export type SeedCounts = {
  devices: number;
  files: number;
  services: number;
  drivers: number;
  tasks: number;
  registryValues: number;
  processes: number;
};

/** Inserts the demo fleet; what is already there stays as it is (a rerun changes nothing). */
export async function seedFleet(db: Db): Promise<SeedCounts> {
  const each = <T>(pick: (device: DemoDevice, deviceId: string) => T[]) =>
    FLEET.flatMap((device) => pick(device, deviceIdOf(device.name)));
  const rows = {
    devices: FLEET.map((device) => ({ id: deviceIdOf(device.name), name: device.name })),
    files: each((d, deviceId) =>
      d.files.map((path) => ({ deviceId, sha256: fileHashes(path).sha256, path, state: "present" as const })),
    ),
    services: each((d, deviceId) => d.services.map((s) => ({ deviceId, ...s }))),
    drivers: each((d, deviceId) => d.drivers.map((name) => ({ deviceId, name, enabled: true }))),
    tasks: each((d, deviceId) =>
      d.tasks.map((t) => ({
        deviceId,
        path: t.path,
        definition: { actions: [{ exec: t.command }], triggers: ["logon"] },
      })),
    ),
    registryValues: each((d, deviceId) => d.registry.map((r) => ({ deviceId, ...r, valueType: "REG_SZ" }))),
    processes: each((d, deviceId) => d.processes.map((p) => ({ deviceId, ...p }))),
  };
  await db.transaction(async (tx) => {
    await tx.insert(devices).values(rows.devices).onConflictDoNothing();
    await tx.insert(deviceFiles).values(rows.files).onConflictDoNothing();
    await tx.insert(deviceServices).values(rows.services).onConflictDoNothing();
    await tx.insert(deviceDrivers).values(rows.drivers).onConflictDoNothing();
    await tx.insert(deviceScheduledTasks).values(rows.tasks).onConflictDoNothing();
    await tx.insert(deviceRegistryValues).values(rows.registryValues).onConflictDoNothing();
    await tx.insert(deviceProcesses).values(rows.processes).onConflictDoNothing();
  });
  return {
    devices: rows.devices.length,
    files: rows.files.length,
    services: rows.services.length,
    drivers: rows.drivers.length,
    tasks: rows.tasks.length,
    registryValues: rows.registryValues.length,
    processes: rows.processes.length,
  };
}
