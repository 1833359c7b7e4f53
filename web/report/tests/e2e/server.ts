// Starts `whistle-api --demo` on a fresh SQLite file and a free port for the browser tests;
// the base URL goes to the tests in WHISTLE_E2E_URL, the server's JSON log (where the demo
// writes registration codes, as it sends no SMS) to WHISTLE_E2E_LOG. The basemap is a GCJ-02
// tile service on a host that only the tests answer (TILE_HOST), so every flow runs with the
// projection a production map in China needs.
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

export default async function setup() {
  const bin =
    process.env.WHISTLE_API_BIN ??
    resolve(dirname(fileURLToPath(import.meta.url)), "../../../..", process.env.CARGO_TARGET_DIR ?? "target", "debug/whistle-api");
  const dir = mkdtempSync(join(tmpdir(), "whistle-e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = join(dir, "server.log");
  const logFile = createWriteStream(log);
  const child = spawn(bin, ["--demo"], {
    cwd: dir,
    env: {
      ...process.env,
      WHISTLE__SERVER__PORT: String(port),
      WHISTLE__SERVER__PUBLIC_BASE_URL: base,
      WHISTLE__DATABASE__URL: `sqlite://${join(dir, "whistle.db")}`,
      WHISTLE__ATTACHMENTS__DIR: join(dir, "attachments"),
      WHISTLE__AUTH__DEV_KEY_FILE: join(dir, "jwt.key"),
      WHISTLE__LOG__FILTER: "warn,whistle_api::app::registration=info",
      WHISTLE__LOG__FORMAT: "json",
      // Every test signs in from 127.0.0.1: the per-address login limit is for the world
      // outside, not for a suite that logs in a few hundred times a minute.
      WHISTLE__LIMITS__AUTH_IP_BURST: "1000",
      WHISTLE__LIMITS__AUTH_IP_PER_MINUTE: "1000",
      WHISTLE__MAP__TILE_URL: "https://t{s}.tiles.whistle.test/{z}/{x}/{y}.png",
      WHISTLE__MAP__TILE_CRS: "gcj02",
      WHISTLE__MAP__TILE_SUBDOMAINS: "0123",
      WHISTLE__MAP__ATTRIBUTION: "测试底图",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    logFile.write(chunk);
    // Anything above info is for the person running the tests too.
    if (/"level":"(WARN|ERROR)"/.test(chunk.toString())) process.stderr.write(chunk);
  });
  let exited = false;
  child.on("exit", () => (exited = true));
  for (let i = 0; i < 300; i++) {
    if (exited) throw new Error(`${bin} exited before answering`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  process.env.WHISTLE_E2E_URL = base;
  process.env.WHISTLE_E2E_LOG = log;
  return async () => {
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    logFile.end();
    rmSync(dir, { recursive: true, force: true });
  };
}
