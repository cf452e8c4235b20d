// Runs the program as a user would, with `npm start`, and drives it only over HTTP.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

export type StartedProcess = {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export function npmStart(env: Record<string, string>, args: string[] = []): StartedProcess {
  return startProcess("npm", ["start", "--silent", ...(args.length ? ["--", ...args] : [])], env);
}

/** What `npm start` execs, without npm in front: for a test that starts the program many times. */
export function nodeStart(env: Record<string, string>, args: string[] = []): StartedProcess {
  return startProcess(process.execPath, ["--import", "tsx", "src/main.ts", ...args], env);
}

function startProcess(command: string, args: string[], env: Record<string, string>): StartedProcess {
  const child = spawn(command, args, {
    cwd: new URL("../..", import.meta.url).pathname,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += String(d)));
  child.stderr!.on("data", (d) => (out += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async stop(signal = "SIGTERM") {
      // A process killed by a signal has no exit code, only a signal code.
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      // npm forwards SIGTERM to the program it exec'd; SIGKILL cannot be forwarded, so it goes to
      // the whole process group, or the program would live on as an orphan.
      if (signal === "SIGKILL") process.kill(-child.pid!, "SIGKILL");
      else child.kill(signal);
      return exited;
    },
  };
}

export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}
