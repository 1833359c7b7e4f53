// Shared steps of the browser tests: the demo server's API as the staff see it, a phone photo
// with EXIF made on the spot, and the QR of the community card decoded.
import { readFileSync } from "node:fs";
import { expect, type APIRequestContext, type BrowserContext, type Page } from "@playwright/test";
import jsQR from "jsqr";
import { PNG } from "pngjs";

export const base = () => {
  const url = process.env.WHISTLE_E2E_URL;
  if (!url) throw new Error("WHISTLE_E2E_URL is not set (tests/e2e/server.ts starts the server)");
  return url;
};

export const DEMO_PASSWORD = "whistle-demo-2026";
export const WENCHANG = "320706001001";
/** Points of the demo city (WGS-84): inside 文昌社区, and Beijing (outside the city). */
export const INSIDE = { latitude: 34.5865, longitude: 119.142 };
export const OUTSIDE = { latitude: 39.9042, longitude: 116.4074 };

export async function session(request: APIRequestContext, username: string): Promise<{ token: string; id: number }> {
  const res = await request.post(`${base()}/api/v1/auth/login`, {
    data: { username, password: DEMO_PASSWORD },
  });
  expect(res.status(), await res.text()).toBe(200);
  const body = (await res.json()) as { access_token: string; account: { id: number } };
  return { token: body.access_token, id: body.account.id };
}

export async function login(request: APIRequestContext, username: string): Promise<string> {
  return (await session(request, username)).token;
}

export async function wenchangId(request: APIRequestContext): Promise<number> {
  const res = await request.get(`${base()}/api/v1/communities?limit=200`);
  const list = (await res.json()) as { items: { id: number; code: string }[] };
  const hit = list.items.find((c) => c.code === WENCHANG);
  if (!hit) throw new Error("demo community 文昌社区 missing");
  return hit.id;
}

/** The URL in the QR code of 文昌社区's printed contact card (PNG), decoded. */
export async function qrUrl(request: APIRequestContext): Promise<string> {
  const id = await wenchangId(request);
  const res = await request.get(`${base()}/api/v1/communities/${id}/contact-card.png`);
  expect(res.status()).toBe(200);
  const png = PNG.sync.read(await res.body());
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!code) throw new Error("no QR code found on the contact card");
  return code.data;
}

/**
 * A 3000×2000 JPEG as a phone makes it, drawn by the browser, with an EXIF block carrying a
 * camera name and a position, so tests can check both are gone once uploaded.
 */
export async function phonePhoto(page: Page): Promise<Buffer> {
  const b64 = await page.evaluate(() => {
    const c = document.createElement("canvas");
    c.width = 3000;
    c.height = 2000;
    const g = c.getContext("2d")!;
    const grad = g.createLinearGradient(0, 0, 3000, 2000);
    grad.addColorStop(0, "#6a8");
    grad.addColorStop(1, "#eb4");
    g.fillStyle = grad;
    g.fillRect(0, 0, 3000, 2000);
    g.fillStyle = "#c33";
    g.beginPath();
    g.arc(1500, 1000, 500, 0, Math.PI * 2);
    g.fill();
    return c.toDataURL("image/jpeg", 0.8).split(",")[1]!;
  });
  const jpeg = Buffer.from(b64, "base64");
  const make = Buffer.from("WhistleCam GPS 34.5865N 119.1420E\0", "latin1");
  const tiff = Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]);
  const ifd = Buffer.alloc(2 + 12 + 4);
  ifd.writeUInt16BE(1, 0);
  ifd.writeUInt16BE(0x010f, 2); // Make
  ifd.writeUInt16BE(2, 4); // ASCII
  ifd.writeUInt32BE(make.length, 6);
  ifd.writeUInt32BE(8 + ifd.length, 10);
  const payload = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff, ifd, make]);
  const seg = Buffer.alloc(4);
  seg.writeUInt16BE(0xffe1, 0);
  seg.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, payload, jpeg.subarray(2)]);
}

export interface StaffCase {
  id: number;
  number: string;
  status: string;
  description: string;
  grid: { id: number; name: string; code: string };
  community: { name: string };
  place_id?: number | null;
  version: number;
  suggested_officer_id?: number | null;
}

export async function casesMatching(request: APIRequestContext, token: string, q: string): Promise<StaffCase[]> {
  const res = await request.get(`${base()}/api/v1/cases?q=${encodeURIComponent(q)}&limit=100`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as { items: StaffCase[] }).items;
}

export async function act(
  request: APIRequestContext,
  token: string,
  id: number,
  body: Record<string, unknown>,
): Promise<StaffCase> {
  const cur = await request.get(`${base()}/api/v1/cases/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  const version = ((await cur.json()) as StaffCase).version;
  const res = await request.post(`${base()}/api/v1/cases/${id}/actions`, {
    headers: { Authorization: `Bearer ${token}` },
    data: { ...body, version },
  });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()) as StaffCase;
}

export async function shot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}

/** Fills the report after the photo: category, an answer, the description. */
export async function fillReport(page: Page, category: RegExp, description: string) {
  await page.getByTestId("category").click();
  await page.getByRole("button", { name: category }).click();
  await expect(page.locator(".van-action-sheet")).toBeHidden();
  await page.getByTestId("description").locator("textarea").fill(description);
}

/** The registration code the demo server logged for this phone (it sends no SMS). */
export async function loggedCode(phone: string): Promise<string> {
  const log = process.env.WHISTLE_E2E_LOG;
  if (!log) throw new Error("WHISTLE_E2E_LOG is not set (tests/e2e/server.ts starts the server)");
  const masked = `${phone.slice(0, 3)}****${phone.slice(7)}`;
  for (let i = 0; i < 50; i++) {
    const codes = readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { message?: string; phone?: string; code?: string })
      .filter((e) => e.message?.startsWith("registration code") && e.phone === masked && e.code);
    if (codes.length) return codes[codes.length - 1]!.code!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no registration code logged for ${masked}`);
}

/** The host of the test basemap (tests/e2e/server.ts configures it); the tests answer it. */
export const TILE_HOST = /^https:\/\/t[0-3]\.tiles\.whistle\.test\//;

/** Answers every tile of the test basemap with a plain 256×256 PNG; returns the URLs asked. */
export async function serveTiles(context: BrowserContext): Promise<string[]> {
  const asked: string[] = [];
  const png = new PNG({ width: 256, height: 256 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([232, 238, 226, 255], i);
  const body = PNG.sync.write(png);
  await context.route(TILE_HOST, (route) => {
    asked.push(route.request().url());
    return route.fulfill({ status: 200, contentType: "image/png", body });
  });
  return asked;
}
