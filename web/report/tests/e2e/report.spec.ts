// The scenarios, as a resident in 文昌社区 does them on a 360×640 phone.
import { expect, test } from "@playwright/test";
import {
  act,
  base,
  casesMatching,
  fillReport,
  INSIDE,
  loggedCode,
  login,
  OUTSIDE,
  phonePhoto,
  qrUrl,
  serveTiles,
  session,
  shot,
} from "./helpers";

const unique = (what: string) => `${what} ${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

test("1. from the card's QR: noise with a photo reaches 田野 with the photo, EXIF removed, right grid", async ({
  page,
  request,
}) => {
  const url = await qrUrl(request);
  expect(url).toBe(`${base()}/report?community=320706001001`);
  await page.goto(url);
  await expect(page.getByTestId("community")).toContainText("文昌社区");
  await expect(page.getByTestId("community")).toContainText("田野");
  await expect(page.getByTestId("hotline")).toHaveAttribute("href", /^tel:/);
  await shot(page, "1-opened");

  await page.getByTestId("photo-input").setInputFiles({
    name: "IMG_0001.jpg",
    mimeType: "image/jpeg",
    buffer: await phonePhoto(page),
  });
  await expect(page.locator(".thumb img")).toHaveCount(1);
  await expect(page.getByTestId("place-message")).toHaveText(/已定位/);
  await expect(page.locator(".pin-head")).toBeVisible();
  const text = unique("楼下KTV每晚十点后噪音很大");
  await fillReport(page, /噪声扰民/, text);
  await page.getByRole("radio", { name: "夜间" }).click();
  await shot(page, "2-filled");
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("done")).toBeVisible();
  const number = (await page.getByTestId("case-number").textContent())!.trim();
  expect(number).toMatch(/^HZ-\d{8}-\d{6}$/);
  await expect(page.getByTestId("track-link")).toContainText("/report/track/");
  await shot(page, "3-done");

  const tianye = await login(request, "tianye");
  const found = await casesMatching(request, tianye, text);
  expect(found).toHaveLength(1);
  const kase = found[0]!;
  expect(kase.number).toBe(number);
  expect(kase.community.name).toBe("文昌社区");
  expect(kase.grid.name).toBe("第一网格");
  const photos = await request.get(`${base()}/api/v1/cases/${kase.id}/attachments`, {
    headers: { Authorization: `Bearer ${tianye}` },
  });
  const list = (await photos.json()) as { url: string; mime: string }[];
  expect(list).toHaveLength(1);
  const img = await request.get(`${base()}${list[0]!.url}`, { headers: { Authorization: `Bearer ${tianye}` } });
  const bytes = await img.body();
  expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  expect(bytes.includes(Buffer.from("Exif"))).toBe(false);
  expect(bytes.includes(Buffer.from("WhistleCam"))).toBe(false);
});

test("2. the network drops on the first submit and comes back: exactly one case", async ({ page, request }) => {
  await page.goto(`${base()}/report?community=320706001001`);
  await expect(page.getByTestId("place-message")).toHaveText(/已定位/);
  const text = unique("共享单车堵住了消防通道");
  await fillReport(page, /公共设施损坏/, text);
  let first = true;
  await page.route("**/api/v1/cases", async (route) => {
    if (route.request().method() === "POST" && first) {
      first = false;
      // The server gets the report, the phone never hears back.
      await route.fetch();
      await route.abort("internetdisconnected");
      return;
    }
    await route.continue();
  });
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("done")).toBeVisible({ timeout: 20_000 });
  const dispatcher = await login(request, "dispatcher");
  expect(await casesMatching(request, dispatcher, text)).toHaveLength(1);
});

test("2b. offline on submit: saved; the tab closed and opened again online sends it, once", async ({
  page,
  context,
  request,
}) => {
  await page.goto(`${base()}/report?community=320706001001`);
  await expect(page.getByTestId("place-message")).toHaveText(/已定位/);
  const text = unique("路灯不亮");
  await fillReport(page, /公共设施损坏/, text);
  await context.setOffline(true);
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("progress")).toHaveText("已保存，联网后自动提交");
  await shot(page, "4-offline");
  // A closed tab loses nothing: the draft (with its Idempotency-Key) is in IndexedDB.
  await page.close();
  await context.setOffline(false);
  const again = await context.newPage();
  await again.goto(`${base()}/report?community=320706001001`);
  await expect(again.getByTestId("done")).toBeVisible({ timeout: 20_000 });
  const dispatcher = await login(request, "dispatcher");
  expect(await casesMatching(request, dispatcher, text)).toHaveLength(1);
});

test("3. location denied: a place from the address book places the case", async ({ browser, request }) => {
  const context = await browser.newContext({
    viewport: { width: 360, height: 640 },
    isMobile: true,
    hasTouch: true,
    locale: "zh-CN",
    permissions: [],
  });
  const page = await context.newPage();
  await page.goto(`${base()}/report?community=320706001001`);
  await expect(page.getByTestId("place-message")).toHaveText("无法获取位置，请从地址库选择");
  await page.getByTestId("place-search").fill("文昌社区南门");
  await page.getByTestId("place-search").press("Enter");
  await page.getByTestId("place-item").filter({ hasText: "文昌社区南门" }).click();
  await expect(page.getByTestId("place-chosen")).toContainText("文昌社区南门");
  const text = unique("南门口有人乱摆摊");
  await fillReport(page, /游商占道经营/, text);
  await shot(page, "5-place-picker");
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("done")).toBeVisible();
  const dispatcher = await login(request, "dispatcher");
  const found = await casesMatching(request, dispatcher, text);
  expect(found).toHaveLength(1);
  expect(found[0]!.place_id).toBeTruthy();
  expect(found[0]!.community.name).toBe("文昌社区");
  await context.close();
});

test("4. a non-image photo, an unknown place, a point outside the city: a clear message, no case", async ({
  browser,
  request,
}) => {
  const context = await browser.newContext({
    viewport: { width: 360, height: 640 },
    isMobile: true,
    hasTouch: true,
    locale: "zh-CN",
    geolocation: OUTSIDE,
    permissions: ["geolocation"],
  });
  const page = await context.newPage();
  await page.goto(`${base()}/report?community=320706001001`);
  await page.getByTestId("photo-input").setInputFiles({
    name: "photo.jpg",
    mimeType: "image/jpeg",
    buffer: Buffer.from("%PDF-1.4 not a photo"),
  });
  await expect(page.getByTestId("photo-error")).toHaveText(/不是可用的照片/);
  await expect(page.locator(".thumb img")).toHaveCount(0);

  await expect(page.getByTestId("place-error")).toHaveText(/不在本市服务范围内/);
  const text = unique("北京的问题");
  await fillReport(page, /生活垃圾乱堆放/, text);
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("place-error")).toHaveText(/不在本市服务范围内/);
  await shot(page, "6-outside");

  await page.getByTestId("pick-place").click();
  await page.getByTestId("place-search").fill("不存在的地方");
  await page.getByTestId("place-search").press("Enter");
  await expect(page.getByTestId("place-none")).toHaveText("没有找到这个地点");

  await expect(page.getByTestId("done")).toHaveCount(0);
  const dispatcher = await login(request, "dispatcher");
  expect(await casesMatching(request, dispatcher, text)).toHaveLength(0);
  await context.close();
});

test("5. the tracking page follows the case: accepted, then closed with the rating form", async ({
  page,
  request,
}) => {
  await page.goto(`${base()}/report?community=320706001001`);
  await expect(page.getByTestId("place-message")).toHaveText(/已定位/);
  const text = unique("小区门口垃圾堆积");
  await fillReport(page, /生活垃圾乱堆放/, text);
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("done")).toBeVisible();
  await page.getByTestId("open-track").click();
  await expect(page).toHaveURL(/\/report\/track\/[^/?]+\?case=HZ-/);
  await expect(page.getByTestId("track-status")).toContainText("已收到，等待受理");
  await expect(page.getByTestId("track-category")).toContainText("生活垃圾乱堆放");

  const dispatcher = await login(request, "dispatcher");
  const { token: tianye, id: tianyeId } = await session(request, "tianye");
  const kase = (await casesMatching(request, dispatcher, text))[0]!;
  await act(request, dispatcher, kase.id, { action: "accept" });
  await page.reload();
  await expect(page.getByTestId("track-status")).toContainText("已受理");
  await shot(page, "7-track-accepted");

  await act(request, dispatcher, kase.id, { action: "dispatch", assignee_id: tianyeId });
  await act(request, tianye, kase.id, { action: "sign" });
  await act(request, tianye, kase.id, { action: "resolve", note: "已清理完毕" });
  const leader = await login(request, "leader.haizhou1");
  await act(request, leader, kase.id, { action: "verify" });
  await act(request, leader, kase.id, { action: "close" });
  await page.getByTestId("refresh").click();
  await expect(page.getByTestId("track-status")).toContainText("已办结");
  await expect(page.getByTestId("rating")).toBeVisible();
  await expect(page.getByTestId("timeline")).toContainText("处置完毕");
  await shot(page, "8-track-closed");
  await page.getByTestId("stars").locator(".star").nth(3).click();
  await page.getByTestId("rate-submit").click();
  await expect(page.getByTestId("rated")).toContainText("4");
  const rated = await request.get(`${base()}/api/v1/cases/${kase.id}`, {
    headers: { Authorization: `Bearer ${dispatcher}` },
  });
  expect(((await rated.json()) as { rating: number }).rating).toBe(4);
});

test("6. an English phone: the same flow in English, the server's refusal in English", async ({ browser, request }) => {
  const context = await browser.newContext({
    viewport: { width: 360, height: 640 },
    isMobile: true,
    hasTouch: true,
    locale: "en-US",
    geolocation: { latitude: 34.5865, longitude: 119.142 },
    permissions: ["geolocation"],
  });
  const page = await context.newPage();
  await page.goto(`${base()}/report?community=320706001001`);
  await expect(page.getByTestId("submit")).toHaveText("Send report");
  await expect(page.getByTestId("place-message")).toHaveText(/Located/);
  const text = unique("Noise from the karaoke bar every night");
  await fillReport(page, /Noise/, text);
  // A phone number the server refuses: its message comes back in English.
  await page.getByTestId("phone").locator("input").fill("12345");
  await page.getByTestId("submit").click();
  const refusal = await request.post(`${base()}/api/v1/cases`, {
    headers: { "Accept-Language": "en" },
    data: { category: "noise", description: "x", lat: 34.5865, lon: 119.142, reporter_phone: "12345" },
  });
  const title = ((await refusal.json()) as { title: string }).title;
  await expect(page.getByTestId("submit-error")).toContainText(title);
  await page.getByTestId("phone").locator("input").fill("");
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("done")).toContainText("Report received");
  await shot(page, "9-english-done");
  await page.getByTestId("open-track").click();
  await expect(page.getByTestId("track-status")).toContainText("Received");
  await context.close();
});

test("7. a resident signs in on the page: the report goes to the account and shows in 我的举报", async ({
  page,
  request,
}) => {
  await page.goto(`${base()}/report?community=320706001001`);
  await page.getByTestId("open-login").click();
  await page.getByTestId("login-phone").locator("input").fill("13800001234");
  await page.getByTestId("login-password").locator("input").fill("wrong-password-1");
  await page.getByTestId("login-submit").click();
  await expect(page.getByTestId("account-message")).not.toBeEmpty();
  await page.getByTestId("login-password").locator("input").fill("whistle-demo-2026");
  await page.getByTestId("login-submit").click();
  await expect(page.getByTestId("who")).toBeVisible();
  // Signed in, the report needs no name or phone: the account is the contact.
  await expect(page.getByTestId("as-account")).toBeVisible();
  await expect(page.getByTestId("phone")).toHaveCount(0);
  await expect(page.getByTestId("place-message")).toHaveText(/已定位/);
  const text = unique("小区北门有人摆摊占道");
  await fillReport(page, /游商占道经营/, text);
  await shot(page, "10-signed-in-report");
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("done")).toBeVisible();
  const number = (await page.getByTestId("case-number").textContent())!.trim();
  await expect(page.getByTestId("track-link")).toHaveCount(0);
  await expect(page.getByTestId("account-cases")).toContainText(number);
  await shot(page, "11-mine");

  // The account's own API sees the same case; the anonymous-reporter fields stay empty.
  const resident = await login(request, "13800001234");
  const own = await request.get(`${base()}/api/v1/cases?q=${encodeURIComponent(text)}`, {
    headers: { Authorization: `Bearer ${resident}` },
  });
  const items = ((await own.json()) as { items: { id: number; number: string; tracking_token?: string | null }[] })
    .items;
  expect(items.map((c) => c.number)).toEqual([number]);

  // A reload keeps the session; the case opens from the list with its timeline.
  await page.reload();
  await page.getByTestId("account-cases").getByText(number).click();
  await expect(page).toHaveURL(new RegExp(`/report/case/${items[0]!.id}$`));
  await expect(page.getByTestId("track-status")).toContainText("已收到，等待受理");
  await expect(page.getByTestId("timeline")).toBeVisible();
  await shot(page, "12-own-case");
  await page.getByTestId("back-to-mine").click();
  await expect(page.getByTestId("account-cases")).toContainText(number);

  // Signing out forgets the account's list on this phone.
  await page.goto(`${base()}/report?community=320706001001`);
  await page.getByTestId("logout").click();
  await expect(page.getByTestId("open-login")).toBeVisible();
  await expect(page.getByTestId("account-cases")).toHaveCount(0);
  await page.goto(`${base()}/report/case/${items[0]!.id}`);
  await expect(page.getByTestId("track-status")).toHaveCount(0);
});

test("7b. a new resident registers with the SMS code and is signed in", async ({ page }) => {
  const phone = `139${String(Date.now()).slice(-8)}`;
  await page.goto(`${base()}/report?community=320706001001`);
  await page.getByTestId("open-login").click();
  await page.getByRole("tab", { name: "注册" }).click();
  await page.getByTestId("reg-phone").locator("input").fill(phone);
  await page.getByTestId("reg-name").locator("input").fill("李女士");
  await page.getByTestId("reg-password").locator("input").fill("short");
  await page.getByTestId("reg-send").click();
  // The server's refusal shows at the password.
  await expect(page.getByTestId("reg-password")).toContainText(/密码/);
  await page.getByTestId("reg-password").locator("input").fill("lake-Breeze-2026");
  await page.getByTestId("reg-send").click();
  await expect(page.getByTestId("reg-code")).toBeVisible();
  const code = await loggedCode(phone);
  const wrong = code === "000000" ? "111111" : "000000";
  await page.getByTestId("reg-code").locator("input").fill(wrong);
  await page.getByTestId("reg-verify").click();
  await expect(page.getByTestId("account-message")).not.toBeEmpty();
  await page.getByTestId("reg-code").locator("input").fill(code);
  await page.getByTestId("reg-verify").click();
  await expect(page.getByTestId("who")).toContainText("李女士");
  await expect(page.getByTestId("mine")).toContainText("还没有");
});

test("8. a GCJ-02 basemap: tiles from the configured host, the pin where the phone is, the case where it was put", async ({
  page,
  context,
  request,
}) => {
  const tiles = await serveTiles(context);
  await page.goto(`${base()}/report?community=320706001001`);
  await expect(page.getByTestId("place-message")).toHaveText(/已定位/);
  await expect(page.getByTestId("map")).toHaveAttribute("data-crs", "gcj02");
  await expect(page.locator(".leaflet-control-attribution")).toContainText("测试底图");
  await expect.poll(() => tiles.length).toBeGreaterThan(0);
  expect(new Set(tiles.map((u) => new URL(u).host)).size).toBeGreaterThan(1);
  // A tap just below the pin's tip: the page turns the map's GCJ-02 point back into WGS-84,
  // so the case lands a few metres from the phone, not the ~500 m the projection shifts.
  // Once the map is on screen and has stopped moving (a slow machine may still be panning).
  await page.getByTestId("map").scrollIntoViewIfNeeded();
  const pinBox = async () => (await page.locator(".leaflet-marker-icon.pin").boundingBox())!;
  let pin = await pinBox();
  await expect
    .poll(
      async () => {
        const now = await pinBox();
        const still = Math.abs(now.x - pin.x) < 0.5 && Math.abs(now.y - pin.y) < 0.5;
        pin = now;
        return still;
      },
      { intervals: [300] },
    )
    .toBe(true);
  // Tapped until the page has taken the point (a tap during a pan animation is swallowed).
  const map = page.getByTestId("map");
  const before = await map.getAttribute("data-point");
  await expect(async () => {
    const box = await pinBox();
    await page.touchscreen.tap(box.x + box.width / 2, box.y + box.height + 3);
    await expect(map).not.toHaveAttribute("data-point", before ?? "", { timeout: 2000 });
  }).toPass({ timeout: 20_000 });
  const text = unique("路口井盖缺失");
  await fillReport(page, /公共设施损坏/, text);
  await shot(page, "13-gcj02-map");
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("done")).toBeVisible();
  const dispatcher = await login(request, "dispatcher");
  const kase = (await casesMatching(request, dispatcher, text))[0]!;
  const full = await request.get(`${base()}/api/v1/cases/${kase.id}`, {
    headers: { Authorization: `Bearer ${dispatcher}` },
  });
  const { lat, lon } = (await full.json()) as { lat: number; lon: number };
  expect(Math.abs(lat - INSIDE.latitude)).toBeLessThan(2e-4);
  expect(Math.abs(lon - INSIDE.longitude)).toBeLessThan(2e-4);
  expect(lat).not.toBe(INSIDE.latitude);
});
