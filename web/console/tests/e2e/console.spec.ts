// The console as the bureau's staff use it, against the demo city.
import { expect, test, type Page } from "@playwright/test";
import { base, casesMatching, DEMO_PASSWORD, login, phonePhoto } from "../../../report/tests/e2e/helpers";

const unique = (what: string) => `${what} ${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
/** 文昌社区's south gate (WGS-84), inside its first grid. */
const GATE = { lat: 34.5865, lon: 119.142 };

async function signIn(page: Page, username: string) {
  await page.goto(`${base()}/console/`);
  await expect(page).toHaveURL(/\/console\/login/);
  await page.getByTestId("username").fill(username);
  await page.getByTestId("password").fill(DEMO_PASSWORD);
  await page.getByTestId("login").click();
  await expect(page.getByTestId("who")).toBeVisible();
}

async function report(request: import("@playwright/test").APIRequestContext, text: string) {
  const resident = await login(request, "13800001234");
  const res = await request.post(`${base()}/api/v1/cases`, {
    headers: { Authorization: `Bearer ${resident}` },
    data: { category: "noise", description: text, lat: GATE.lat, lon: GATE.lon, attributes: { period: "evening" } },
  });
  expect(res.status(), await res.text()).toBe(201);
  return (await res.json()) as { id: number; number: string };
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}

test("1. 田野's day: a report appears in his queue without a reload; he takes it, asks for time, the leader approves, he resolves with an after-photo", async ({
  page,
  browser,
  request,
}) => {
  await signIn(page, "tianye");
  await expect(page).toHaveURL(/\/console\/queue$/);
  await expect(page.getByTestId("menu")).toContainText("我的待办");
  await expect(page.getByTestId("menu")).not.toContainText("案件中心");
  const text = unique("南门外商家高音喇叭叫卖");
  const kase = await report(request, text);
  // No reload: the queue polls.
  const item = page.locator(`[data-case="${kase.number}"]`);
  await expect(item).toBeVisible({ timeout: 25_000 });
  await expect(item).toContainText("待受理");
  await expect(item.getByTestId("due")).toHaveAttribute("data-urgency", /ok|near/);
  await shot(page, "console-1-queue");
  await item.click();
  await expect(page.getByTestId("case-number")).toHaveText(kase.number);
  await expect(page.getByTestId("actions")).not.toContainText("不予受理");
  await page.getByTestId("action-accept").click();
  await page.getByTestId("action-submit").click();
  await expect(page.getByTestId("case-status")).toHaveText("已派遣");
  await page.getByTestId("action-sign").click();
  await page.getByTestId("action-submit").click();
  await expect(page.getByTestId("case-status")).toHaveText("处置中");

  // More time: the note is required, said at the field before anything is sent.
  await page.getByTestId("action-request_extension").click();
  await page.getByTestId("action-submit").click();
  await expect(page.getByTestId("action-dialog")).toContainText("请填写说明");
  await page.getByTestId("note").fill("商户负责人外出，明日上午约谈");
  await page.getByTestId("action-submit").click();
  await expect(page.getByTestId("timeline")).toContainText("申请延期");

  const leaderContext = await browser.newContext();
  const leader = await leaderContext.newPage();
  await signIn(leader, "leader.haizhou1");
  await leader.goto(`${base()}/console/cases/${kase.id}`);
  await leader.getByTestId("action-decide_extension").click();
  await leader.getByTestId("action-submit").click();
  await expect(leader.getByTestId("timeline")).toContainText("审批延期");
  await leaderContext.close();

  await page.reload();
  await page.getByTestId("action-resolve").click();
  await page.getByTestId("note").fill("已责令商户停止使用高音喇叭");
  await page.getByTestId("after-photos").setInputFiles({
    name: "after.jpg",
    mimeType: "image/jpeg",
    buffer: await phonePhoto(page),
  });
  await page.getByTestId("action-submit").click();
  await expect(page.getByTestId("case-status")).toHaveText("待核查");
  await expect(page.getByTestId("photos").locator('[data-kind="after"]')).toHaveCount(1);
  await expect(page.getByTestId("timeline")).toContainText("已责令商户停止使用高音喇叭");
  await shot(page, "console-2-case");
});

test("2. the command centre's list: filters in the URL, dispatch to an officer with his load shown", async ({
  page,
  request,
}) => {
  const text = unique("小区门口占道经营");
  const kase = await report(request, text);
  const dispatcher = await login(request, "dispatcher");
  // Accepted by the command centre, to be dispatched here.
  const cur = (await (
    await request.get(`${base()}/api/v1/cases/${kase.id}`, { headers: { Authorization: `Bearer ${dispatcher}` } })
  ).json()) as { version: number };
  await request.post(`${base()}/api/v1/cases/${kase.id}/actions`, {
    headers: { Authorization: `Bearer ${dispatcher}` },
    data: { action: "accept", version: cur.version },
  });
  await signIn(page, "dispatcher");
  await expect(page).toHaveURL(/\/console\/cases$/);
  await page.getByTestId("filter-q").fill(text);
  await page.getByTestId("filter-q").press("Enter");
  await expect(page).toHaveURL(/q=/);
  const rows = page.getByTestId("cases").locator(".el-table__body tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(kase.number);
  await shot(page, "console-3-cases");
  await rows.first().getByText(kase.number).click();
  await page.getByTestId("action-dispatch").click();
  await page.getByTestId("assignee").click();
  await expect(page.locator(".el-select-dropdown__item", { hasText: "田野" })).toContainText("在办");
  await page.locator(".el-select-dropdown__item", { hasText: "田野" }).click();
  await page.getByTestId("action-submit").click();
  await expect(page.getByTestId("case-status")).toHaveText("已派遣");
  const found = await casesMatching(request, dispatcher, text);
  expect(found[0]!.status).toBe("dispatched");
});

test("3. what a role may not see: no menu, and a case outside the jurisdiction shows the server's answer", async ({
  page,
  request,
}) => {
  const kase = await report(request, unique("海州区的案件"));
  await signIn(page, "officer.gulou");
  await expect(page.getByTestId("menu")).not.toContainText("案件中心");
  await page.goto(`${base()}/console/cases/${kase.id}`);
  await expect(page.getByTestId("case-error")).toBeVisible();
  await expect(page.getByTestId("case-error")).not.toBeEmpty();
  await page.goto(`${base()}/console/no-such-page`);
  await expect(page.getByTestId("not-found")).toBeVisible();
});

test("4. an expired access token mid-form: one refresh, the action goes through, nothing typed is lost", async ({
  page,
  request,
}) => {
  const kase = await report(request, unique("夜间施工噪声"));
  await signIn(page, "tianye");
  await page.goto(`${base()}/console/cases/${kase.id}`);
  await page.getByTestId("action-comment").click();
  await page.getByTestId("note").fill("已电话联系举报人，今晚复查");
  // The access token runs out while the note is being written.
  await page.evaluate(() => {
    const key = "whistle.console.session";
    const s = JSON.parse(localStorage.getItem(key)!) as { access_token: string };
    s.access_token = "expired.token.value";
    localStorage.setItem(key, JSON.stringify(s));
  });
  await page.getByTestId("action-submit").click();
  await expect(page.getByTestId("timeline")).toContainText("已电话联系举报人，今晚复查");
  await expect(page.getByTestId("who")).toBeVisible();
  // A refresh token the server refuses ends the session: back to the login page.
  await page.evaluate(() => {
    const key = "whistle.console.session";
    const s = JSON.parse(localStorage.getItem(key)!) as { access_token: string; refresh_token: string };
    s.access_token = "expired.token.value";
    s.refresh_token = "revoked";
    localStorage.setItem(key, JSON.stringify(s));
  });
  await page.reload();
  await expect(page).toHaveURL(/\/console\/login/);
  await expect(page.getByTestId("login-error")).toContainText("登录已过期");
});

test("5. the officer's pages on a 390×844 phone: no sideways scrolling, the actions in reach", async ({
  browser,
  request,
}) => {
  const kase = await report(request, unique("手机上查看案件"));
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signIn(page, "tianye");
  const noSideways = () =>
    page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1);
  await expect(page.locator(`[data-case="${kase.number}"]`)).toBeVisible();
  expect(await noSideways()).toBe(true);
  await shot(page, "console-4-phone-queue");
  await page.locator(`[data-case="${kase.number}"]`).click();
  await expect(page.getByTestId("case-number")).toHaveText(kase.number);
  await expect(page.getByTestId("case-map").locator(".case-pin")).toHaveCount(1);
  await expect(page.getByTestId("case-map").locator("path.leaflet-interactive")).not.toHaveCount(0);
  expect(await noSideways()).toBe(true);
  const accept = page.getByTestId("action-accept");
  await accept.scrollIntoViewIfNeeded();
  await expect(accept).toBeInViewport();
  await accept.click();
  await expect(page.getByTestId("action-submit")).toBeInViewport();
  await shot(page, "console-5-phone-case");
  await context.close();
});
