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

async function report(request: import("@playwright/test").APIRequestContext, text: string, at = GATE) {
  const resident = await login(request, "13800001234");
  const res = await request.post(`${base()}/api/v1/cases`, {
    headers: { Authorization: `Bearer ${resident}` },
    data: { category: "noise", description: text, lat: at.lat, lon: at.lon, attributes: { period: "evening" } },
  });
  expect(res.status(), await res.text()).toBe(201);
  return (await res.json()) as { id: number; number: string };
}

async function shot(page: Page, name: string) {
  // Let dialogs and messages finish fading, so the picture shows what the user sees.
  await page.waitForTimeout(600);
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}

test("1. 田野's day: a report appears in his queue without a reload; he takes it, asks for time, the leader approves, he resolves with an after-photo; closed, the reporter's rating arrives", async ({
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
  // The request waits in the leader's 待审批延期 list.
  await leader.getByTestId("menu").getByText("案件中心").click();
  await leader.getByTestId("attention-extension_request").click();
  await expect(leader).toHaveURL(/attention=extension_request/);
  await leader.getByTestId("cases").getByText(kase.number).click();
  await expect(leader.getByTestId("case-number")).toHaveText(kase.number);
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
  // The leader verifies and closes; the reporter rates; the officer sees the rating arrive.
  await closeAfterResolve(request, kase.id);
  const resident = await login(request, "13800001234");
  const rated = await request.post(`${base()}/api/v1/cases/${kase.id}/actions`, {
    headers: { Authorization: `Bearer ${resident}` },
    data: { action: "rate", rating: 5, note: "处理及时，谢谢田警官" },
  });
  expect(rated.status(), await rated.text()).toBe(200);
  await page.reload();
  await expect(page.getByTestId("case-status")).toHaveText("已结案");
  await expect(page.getByTestId("case-rating")).toContainText("5");
  await expect(page.getByTestId("timeline")).toContainText("评价");
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
  // The same list as points over the grids; the point opens the case.
  await page.getByTestId("view").getByText("地图").click();
  const point = page.getByTestId("cases-map").locator(`path.case-${kase.id}`);
  await expect(point).toHaveCount(1);
  await expect(page.getByTestId("cases-map").locator("path.case-point")).toHaveCount(1);
  await point.click();
  await expect(page.getByTestId("case-number")).toHaveText(kase.number);
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

/** The leader verifies and closes a resolved case through the API. */
async function closeAfterResolve(request: import("@playwright/test").APIRequestContext, id: number) {
  const leader = await login(request, "leader.haizhou1");
  for (const action of ["verify", "close"]) {
    const cur = (await (
      await request.get(`${base()}/api/v1/cases/${id}`, { headers: { Authorization: `Bearer ${leader}` } })
    ).json()) as { version: number };
    const res = await request.post(`${base()}/api/v1/cases/${id}/actions`, {
      headers: { Authorization: `Bearer ${leader}` },
      data: { action, version: cur.version },
    });
    expect(res.status(), await res.text()).toBe(200);
  }
}

/** Takes a case from report to an on-time close through the API, as 田野 and the leader would. */
async function closeOnTime(request: import("@playwright/test").APIRequestContext, id: number) {
  const step = async (who: string, body: Record<string, unknown>) => {
    const token = await login(request, who);
    const cur = (await (
      await request.get(`${base()}/api/v1/cases/${id}`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as { version: number };
    const res = await request.post(`${base()}/api/v1/cases/${id}/actions`, {
      headers: { Authorization: `Bearer ${token}` },
      data: { ...body, version: cur.version },
    });
    expect(res.status(), await res.text()).toBe(200);
  };
  await step("tianye", { action: "accept" });
  await step("tianye", { action: "sign" });
  await step("tianye", { action: "resolve", note: "已处置" });
  await step("leader.haizhou1", { action: "verify" });
  await step("leader.haizhou1", { action: "close" });
}

test("6. the leader's dashboard: the rates with their change, the trend, the table; a closed case shows; the CSV has it", async ({
  page,
  request,
}) => {
  // The case reported first, so that 文昌社区 has a row whatever ran before.
  const kase = await report(request, unique("看板验证案件"));
  await signIn(page, "leader.haizhou1");
  await page.getByTestId("menu").getByText("数据看板").click();
  await expect(page).toHaveURL(/\/console\/dashboard/);
  await expect(page.getByTestId("card-on_time_close_rate")).toContainText("按期结案率");
  await expect(page.getByTestId("card-on_time_close_rate")).toContainText("较上期");
  await expect(page.getByTestId("trend").locator("canvas")).toHaveCount(1);
  const wenchang = page.getByTestId("groups").locator("tr", { hasText: "文昌社区" });
  const closedBefore = Number(await wenchang.locator("td").nth(2).innerText());
  const countsBefore = await page.getByTestId("card-counts").innerText();

  await closeOnTime(request, kase.id);
  await page.reload();
  // Closed: open goes down by one.
  await expect(page.getByTestId("card-counts")).not.toHaveText(countsBefore);
  await expect(wenchang.locator("td").nth(2)).toHaveText(String(closedBefore + 1));
  await expect(page.getByTestId("card-on_time_close_rate").getByTestId("card-value")).toHaveText(/^\d+\.\d%$/);
  await shot(page, "console-6-dashboard");

  const [file] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-cases").click()]);
  const csv = await (await import("node:fs/promises")).readFile((await file.path())!, "utf8");
  expect(csv).toContain(kase.number);

  // Down to the community's cases.
  await wenchang.getByRole("link", { name: "文昌社区" }).click();
  await expect(page).toHaveURL(/\/console\/cases\?community_id=\d+/);
  await expect(page.getByTestId("cases")).toContainText(kase.number);
});

test("7. a leader of 新海街道 cannot reach 海州街道's figures: not offered, and by URL the server's refusal", async ({
  page,
  request,
}) => {
  const admin = await login(request, "admin");
  const streets = (await (await request.get(`${base()}/api/v1/streets`)).json()) as { id: number; name: string }[];
  const xinhai = streets.find((s) => s.name === "新海街道")!;
  const haizhou = streets.find((s) => s.name === "海州街道")!;
  const username = `leader.xinhai.${Date.now().toString(36)}`;
  const created = await request.post(`${base()}/api/v1/admin/users`, {
    headers: { Authorization: `Bearer ${admin}` },
    data: {
      username,
      display_name: "新海中队长",
      role: "leader",
      password: DEMO_PASSWORD,
      badge_number: `XH${Date.now() % 10000}`,
      squad: "新海中队",
      areas: [{ level: "street", id: xinhai.id }],
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  await signIn(page, username);
  await page.getByTestId("menu").getByText("数据看板").click();
  await expect(page.getByTestId("cards")).toBeVisible();
  await page.getByTestId("street").click();
  await expect(page.locator(".el-select-dropdown__item", { hasText: "新海街道" })).toBeVisible();
  await expect(page.locator(".el-select-dropdown__item", { hasText: "海州街道" })).toHaveCount(0);
  await page.goto(`${base()}/console/dashboard?street=${haizhou.id}`);
  await expect(page.getByTestId("dash-error")).toBeVisible();
  await expect(page.getByTestId("dash-error")).not.toBeEmpty();
  await expect(page.getByTestId("cards")).toHaveCount(0);
});

test("8. an admin makes a Saturday a 调休 working day on the calendar: a new case's deadline moves onto it", async ({
  page,
  request,
}) => {
  const admin = await login(request, "admin");
  const auth = { Authorization: `Bearer ${admin}` };
  const reader = { Authorization: `Bearer ${await login(request, "dispatcher")}` };
  const original = await (await request.get(`${base()}/api/v1/admin/calendar`, { headers: auth })).json();
  // Dates in the city's time (UTC+8). Every day from today to the Friday before next Saturday is
  // made a holiday, so that the next working day is the Monday after it, whatever day this runs.
  const DAY = 86_400_000;
  const local = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
  const now = Date.now();
  const weekday = new Date(now + 8 * 3600_000).getUTCDay();
  const toSaturday = ((6 - weekday + 7) % 7) || 7;
  const saturday = local(now + toSaturday * DAY);
  const monday = local(now + (toSaturday + 2) * DAY);
  const holidays = Array.from({ length: toSaturday }, (_, i) => local(now + i * DAY));
  const put = await request.put(`${base()}/api/v1/admin/calendar`, {
    headers: auth,
    data: { ...original, holidays: [...original.holidays, ...holidays], makeup_days: original.makeup_days.filter((d: string) => d !== saturday) },
  });
  expect(put.status(), await put.text()).toBe(200);
  try {
    // Noise is accepted within 2 working hours: the Monday, 10:30.
    const before = await report(request, unique("调休前的案件"));
    const dueBefore = (await (
      await request.get(`${base()}/api/v1/cases/${before.id}`, { headers: reader })
    ).json()) as { stage_due: string };
    expect(local(Date.parse(dueBefore.stage_due))).toBe(monday);

    await signIn(page, "admin");
    await page.getByTestId("menu").getByText("工作日历").click();
    await expect(page).toHaveURL(/\/console\/calendar$/);
    if (!(await page.locator(`[data-day="${saturday}"]`).count())) {
      await page.locator(".el-calendar__button-group button").last().click();
    }
    await page.locator(`[data-day="${saturday}"]`).click();
    await expect(page.getByTestId("cal-selected")).toHaveText(saturday);
    await expect(page.getByTestId("cal-selected").locator("xpath=..")).toContainText("休息日");
    await page.getByTestId("cal-kind").getByText("调休上班").click();
    await page.getByTestId("cal-save").click();
    await expect(page.getByTestId("cal-saved")).toBeVisible();
    await expect(page.locator(`[data-day="${saturday}"]`)).toContainText("班");
    await shot(page, "console-7-calendar");

    const after = await report(request, unique("调休后的案件"));
    const dueAfter = (await (
      await request.get(`${base()}/api/v1/cases/${after.id}`, { headers: reader })
    ).json()) as { stage_due: string };
    expect(local(Date.parse(dueAfter.stage_due))).toBe(saturday);
  } finally {
    await request.put(`${base()}/api/v1/admin/calendar`, { headers: auth, data: original });
  }
});

test("9. 田野 logs a home visit by the 721 method and sees his mix against 70/20/10", async ({ page, request }) => {
  const tianye = await login(request, "tianye");
  const mixOf = async () =>
    (await (
      await request.get(`${base()}/api/v1/work-logs/mix?officer=me`, { headers: { Authorization: `Bearer ${tianye}` } })
    ).json()) as { classes: { class: string; minutes: number }[] };
  const serviceBefore = (await mixOf()).classes.find((c) => c.class === "service")!.minutes;
  await signIn(page, "tianye");
  await page.getByTestId("menu").getByText("工作日志").click();
  await expect(page).toHaveURL(/\/console\/logs$/);
  const notes = unique("走访文昌社区南门商户，宣传门前四包");
  await page.getByTestId("participants").fill("物业王经理");
  await page.getByTestId("log-notes").fill(notes);
  await page.getByTestId("log-save").click();
  await expect(page.getByTestId("log-message")).toContainText("已记录");
  await expect(page.getByTestId("logs")).toContainText(notes);
  await expect(page.getByTestId("logs")).toContainText("走访问需");
  await expect(page.getByTestId("mix").locator('[data-class="service"]')).toContainText("/ 70.0%");
  await expect(page.getByTestId("mix").locator('[data-class="service"]')).not.toContainText("—");
  await expect(page.getByTestId("mix-chart").locator("canvas")).toHaveCount(1);
  await shot(page, "console-8-worklog");
  const serviceAfter = (await mixOf()).classes.find((c) => c.class === "service")!.minutes;
  expect(serviceAfter - serviceBefore).toBeGreaterThanOrEqual(59);
});

/** A valid 统一社会信用代码 (its 18th character is the check character of the first 17). */
function licence(): string {
  const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  const body = `91320706MA${String(Date.now()).slice(-7)}`;
  const sum = [...body].reduce((s, c, i) => s + alphabet.indexOf(c) * weights[i]!, 0);
  return body + alphabet[(31 - (sum % 31)) % 31];
}

test("10. a merchant at the south gate registers and signs the 门前四包 pledge; an inspection fails 市容 and opens a case", async ({
  page,
  request,
}) => {
  await signIn(page, "tianye");
  await page.getByTestId("menu").getByText("门前四包").click();
  await expect(page).toHaveURL(/\/console\/merchants$/);
  const name = unique("南门小吃店");
  await page.getByTestId("merchant-new").click();
  await page.getByTestId("m-name").fill(name);
  const good = licence();
  await page.getByTestId("m-licence").fill(good.slice(0, 17) + (good.endsWith("0") ? "1" : "0"));
  await page.getByTestId("m-owner").fill("王老板");
  await page.getByTestId("m-phone").fill("13912345678");
  await page.getByTestId("m-type").fill("餐饮");
  await page.getByTestId("m-address").fill("文昌社区南门外 3 号");
  await page.getByTestId("m-lat").locator("input").fill(String(GATE.lat));
  await page.getByTestId("m-lon").locator("input").fill(String(GATE.lon));
  // A licence number with a wrong check character: the server says so at the field.
  await page.getByTestId("m-save").click();
  await expect(page.locator(".el-form-item.is-error")).toContainText(/统一社会信用代码|licence|校验/);
  await page.getByTestId("m-licence").fill(good);
  await page.getByTestId("m-save").click();
  await expect(page.getByTestId("merchant-name")).toHaveText(name);

  await page.getByTestId("frontage").fill("门前至人行道边缘，东西各 5 米");
  await page.getByTestId("pledge-sign").click();
  await expect(page.getByTestId("pledge")).toContainText("有效");
  await expect(page.getByTestId("pledge")).toContainText(/MQ-\d{4}-\d{6}/);

  const appearance = page.locator('[data-item="appearance"]');
  await appearance.getByText("不合格").click();
  await appearance.locator("input[type=text]").first().fill("门前堆放纸箱，出店经营");
  await appearance.getByText("立案").click();
  await page.getByTestId("inspect-save").click();
  const link = page.getByTestId("inspection").getByTestId("inspection-case");
  await expect(link).toContainText(/HZ-\d{8}-\d{6}/);
  await shot(page, "console-9-merchant");
  const number = (await link.innerText()).replace(/[^A-Z0-9-]/g, "");
  await link.click();
  await expect(page.getByTestId("case-number")).toHaveText(number);
  await expect(page.getByTestId("case-status")).toHaveText("处置中");
  const tianye = await login(request, "tianye");
  const kase = (await (
    await request.get(`${base()}/api/v1/cases/${number}`, { headers: { Authorization: `Bearer ${tianye}` } })
  ).json()) as { merchant_id: number; category: string };
  expect(kase.category).toBe("shop_encroachment");
  expect(kase.merchant_id).toBeGreaterThan(0);
});

test("11. a 12345 call entered by address: the address book places it, the category's question is asked, nearby open cases are named", async ({
  page,
  request,
}) => {
  // An open noise case at the south gate already: the new one should name it.
  const places = (await (
    await request.get(`${base()}/api/v1/places?q=${encodeURIComponent("文昌社区南门")}`)
  ).json()) as { name: string; lat: number; lon: number }[];
  const gate = places.find((p) => p.name === "文昌社区南门")!;
  const earlier = await report(request, unique("南门噪声（先前的举报）"), gate);
  await signIn(page, "dispatcher");
  await page.getByTestId("hotline-new").click();
  await page.getByTestId("caller-name").fill("赵女士");
  await page.getByTestId("caller-phone").fill("13700001111");
  await page.getByTestId("hotline-submit").click();
  await expect(page.getByTestId("hotline")).toContainText("请选择类别");
  await page.getByTestId("place").click();
  await page.getByTestId("place").locator("input").fill("文昌社区南门");
  await page.locator(".el-select-dropdown__item:visible", { hasText: "文昌社区南门" }).first().click();
  await page.getByTestId("hotline-category").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "噪声扰民" }).click();
  await page.getByTestId("attr-period").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "夜间" }).click();
  const text = unique("来电反映南门商户夜间高音喇叭");
  await page.getByTestId("caller-description").fill(text);
  await page.getByTestId("hotline-submit").click();
  await expect(page.getByTestId("hotline-created")).toContainText(/HZ-\d{8}-\d{6}/);
  await expect(page.getByTestId("hotline-duplicates")).toContainText(earlier.number);
  await page.getByTestId("hotline-open").click();
  await expect(page.getByTestId("case-status")).toHaveText("待受理");
  await expect(page.locator(".el-descriptions")).toContainText("12345 热线");
  await expect(page.locator(".el-descriptions")).toContainText("赵女士");
  await expect(page.locator(".el-descriptions")).toContainText("文昌社区");
});

test("12. an admin opens an officer's account for 鼓楼社区, resets its password, disables it; the server follows each step", async ({
  page,
  request,
}) => {
  const username = `officer.new.${Date.now().toString(36)}`;
  const password = "Gulou-patrol-2026";
  await signIn(page, "admin");
  await expect(page).toHaveURL(/\/console\/calendar$/);
  await page.getByTestId("menu").getByText("账号管理").click();
  await page.getByTestId("account-new").click();
  await page.getByTestId("a-username").fill(username);
  await page.getByTestId("a-name").fill("周新");
  await page.getByTestId("a-password").fill("short");
  await page.getByTestId("a-badge").fill(`HZ${Date.now() % 100000}`);
  await page.getByTestId("a-areas").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "鼓楼社区" }).click();
  await page.keyboard.press("Escape");
  await page.getByTestId("a-save").click();
  // Too weak a password: the server's reason, at the field.
  await expect(page.locator(".el-dialog .el-form-item.is-error")).toContainText(/密码|password/i);
  await page.getByTestId("a-password").fill(password);
  await page.getByTestId("a-save").click();
  const row = page.getByTestId("accounts").locator("tr", { hasText: username });
  await expect(row).toContainText("鼓楼社区");
  await expect(row).toContainText("正常");
  const ok = await request.post(`${base()}/api/v1/auth/login`, { data: { username, password } });
  expect(ok.status()).toBe(200);

  await row.getByTestId("reset").click();
  await expect(page.getByTestId("temporary-password")).not.toBeEmpty();
  const temporaryShown = (await page.getByTestId("temporary-password").textContent())!.trim();
  await page.keyboard.press("Escape");
  await row.getByTestId("disable").click();
  await expect(row).toContainText("已停用");
  // The reset ended the old password, and a disabled account cannot log in at all.
  for (const pw of [password, temporaryShown]) {
    const refused = await request.post(`${base()}/api/v1/auth/login`, { data: { username, password: pw } });
    expect(refused.status()).toBeGreaterThanOrEqual(400);
  }
  await shot(page, "console-10-accounts");
});

test("13. the outbox: what waits to be sent and what failed, by state", async ({ page, request }) => {
  // A registration queues an SMS with the code.
  const phone = `137${String(Date.now()).slice(-8)}`;
  const res = await request.post(`${base()}/api/v1/auth/register`, {
    data: { phone, password: "lake-Breeze-2026", display_name: "钱先生" },
  });
  expect(res.status()).toBe(202);
  await signIn(page, "admin");
  await page.getByTestId("menu").getByText("消息发送").click();
  await expect(page).toHaveURL(/\/console\/outbox$/);
  await expect(page.getByTestId("outbox-state")).toContainText("发送失败");
  await page.getByTestId("outbox-state").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "待发送" }).click();
  const sms = page.getByTestId("outbox").locator("tr", { hasText: phone });
  await expect(sms).toContainText("短信");
  await expect(sms).toContainText("待发送");
  // Only a dead letter can be sent again.
  await expect(sms.getByTestId("retry")).toHaveCount(0);
});

test("14. 问题溯源: a spot reported again and again shows on the map and in the list, with the officers' load", async ({
  page,
  request,
}) => {
  const spot = { lat: 34.5872, lon: 119.1431 };
  const numbers: string[] = [];
  for (let i = 0; i < 3; i++) numbers.push((await report(request, unique("同一路口反复噪声"), spot)).number);
  await signIn(page, "leader.haizhou1");
  await page.getByTestId("menu").getByText("问题溯源").click();
  await expect(page).toHaveURL(/\/console\/sources$/);
  await expect(page.getByTestId("hotspot-map").locator("path.leaflet-interactive")).not.toHaveCount(0);
  const row = page.getByTestId("repeat-locations").locator("tr", { hasText: numbers[2]! });
  await expect(row).toBeVisible();
  expect(Number(await row.locator("td").nth(2).innerText())).toBeGreaterThanOrEqual(3);
  await expect(page.getByTestId("workload")).toContainText("田野");
  await shot(page, "console-11-sources");
  await row.getByRole("link", { name: numbers[2]! }).click();
  await expect(page.getByTestId("cases")).toContainText(numbers[2]!);
});

test("15. the address book from a CSV file: a bad row named by its line, a refused batch too, then imported and found", async ({
  page,
}) => {
  const name = unique("文昌路菜场东门");
  await signIn(page, "admin");
  await page.getByTestId("menu").getByText("地址库").click();
  const bad = `名称,类型,纬度,经度\n${name},landmark,34.5868,119.1425\n文昌路20号,address,north,119.15\n`;
  await page.getByTestId("places-file").setInputFiles({ name: "places.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
  await expect(page.getByTestId("places-row-error")).toContainText("第 3 行");
  await expect(page.getByTestId("places-upload")).toHaveCount(0);
  // A point outside the city: the server refuses the batch and the page names the line.
  const outside = `名称,类型,纬度,经度\n${name},landmark,34.5868,119.1425\n北京某地,landmark,39.9042,116.4074\n`;
  await page.getByTestId("places-file").setInputFiles({ name: "places.csv", mimeType: "text/csv", buffer: Buffer.from(outside) });
  await page.getByTestId("places-upload").click();
  await expect(page.getByTestId("places-error")).toContainText("第 3 行");
  const good = `\uFEFF名称,类型,纬度,经度\n"${name}",landmark,34.5868,119.1425\n`;
  await page.getByTestId("places-file").setInputFiles({ name: "places.csv", mimeType: "text/csv", buffer: Buffer.from(good) });
  await page.getByTestId("places-upload").click();
  await expect(page.getByTestId("places-done")).toContainText("新增 1 个");
  await page.getByTestId("places-q").fill(name);
  await page.getByTestId("places-q").press("Enter");
  await expect(page.getByTestId("places-found")).toContainText(name);
});

test("16. Open311 keys: issued once to hand over, accepted by the Open311 interface, refused once revoked", async ({
  page,
  request,
}) => {
  await signIn(page, "admin");
  await page.getByTestId("menu").getByText("接口密钥").click();
  const client = unique("街道微信小程序");
  await page.getByTestId("key-name").fill(client);
  await page.getByTestId("key-issue").click();
  const key = (await page.getByTestId("key-value").innerText()).trim();
  expect(key.length).toBeGreaterThan(16);
  const row = page.getByTestId("keys").locator("tr", { hasText: client });
  await expect(row).toContainText("正常");
  const post = () =>
    request.post(`${base()}/open311/v2/requests.json`, {
      form: {
        api_key: key,
        service_code: "noise",
        lat: String(GATE.lat),
        long: String(GATE.lon),
        description: unique("Open311 客户端上报"),
        "attribute[period]": "evening",
      },
    });
  expect((await post()).status()).toBe(200);
  await row.getByTestId("key-revoke").click();
  await expect(row).toContainText("已吊销");
  expect((await post()).status()).toBeGreaterThanOrEqual(400);
});

test("17. an admin changes a category's time limit: a limit the server cannot read is named at its cell, a good one is stored", async ({
  page,
  request,
}) => {
  const admin = await login(request, "admin");
  const auth = { Authorization: `Bearer ${admin}` };
  const sla = async () =>
    (await (await request.get(`${base()}/api/v1/admin/categories/noise/sla`, { headers: auth })).json()) as {
      priority: string;
      accept: string;
      dispatch: string;
      sign: string;
      resolve: string;
      verify: string;
    }[];
  const original = (await sla()).find((r) => r.priority === "high")!;
  try {
    await signIn(page, "admin");
    await page.getByTestId("menu").getByText("处置时限").click();
    await expect(page).toHaveURL(/\/console\/sla$/);
    await expect(page.getByTestId("sla-category")).toContainText("噪声扰民");
    const accept = page.getByTestId("sla-high-accept");
    await expect(accept).toHaveValue(original.accept);
    await accept.fill("3x");
    await page.getByTestId("sla-save-high").click();
    await expect(page.locator('[data-priority="high"] .err')).toContainText("3wd");
    await accept.fill("3wh");
    await page.getByTestId("sla-save-high").click();
    await expect(page.getByTestId("sla-saved")).toBeVisible();
    expect((await sla()).find((r) => r.priority === "high")!.accept).toBe("3wh");
  } finally {
    const { priority, ...limits } = original;
    await request.put(`${base()}/api/v1/admin/categories/noise/sla/${priority}`, { headers: auth, data: limits });
  }
});

async function communityId(request: import("@playwright/test").APIRequestContext, name: string): Promise<number> {
  const page = (await (await request.get(`${base()}/api/v1/communities?limit=200`)).json()) as { items: { id: number; name: string }[] };
  return page.items.find((c) => c.name === name)!.id;
}

test("18. a 12345 call placed only by its address waits in 待定位 until the dispatcher clicks the spot on the map", async ({
  page,
  request,
}) => {
  const dispatcher = await login(request, "dispatcher");
  const market = (
    (await (await request.get(`${base()}/api/v1/places?q=${encodeURIComponent("鼓楼农贸市场")}`)).json()) as { id: number; name: string }[]
  ).find((p) => p.name === "鼓楼农贸市场")!;
  const text = unique("市场东侧凌晨卸货噪声");
  const res = await request.post(`${base()}/api/v1/cases`, {
    headers: { Authorization: `Bearer ${dispatcher}` },
    data: { category: "noise", description: text, place_id: market.id, reporter_name: "钱先生", reporter_phone: "13700002222", attributes: { period: "night" } },
  });
  expect(res.status(), await res.text()).toBe(201);
  const kase = (await res.json()) as { id: number; number: string; lat: number; lon: number };
  await signIn(page, "dispatcher");
  await page.getByTestId("attention-placed_by_address").click();
  const row = page.getByTestId("cases").locator("tr", { hasText: kase.number });
  await expect(row).toBeVisible();
  await row.getByText(kase.number).click();
  await expect(page.getByTestId("unplaced")).toBeVisible();
  await page.getByTestId("locate-start").click();
  await expect(page.getByTestId("locate-hint")).toBeVisible();
  const map = page.getByTestId("case-map");
  await expect(map.locator(".case-pin")).toBeVisible();
  const box = (await map.boundingBox())!;
  // Up and to the right of the pin, which stands in the middle.
  await page.mouse.click(box.x + box.width / 2 + 60, box.y + box.height / 2 - 40);
  await expect(page.locator(".el-message-box")).toContainText("定位到");
  await shot(page, "console-18-locate");
  await page.locator(".el-message-box").getByRole("button", { name: "确定定位" }).click();
  await expect(page.getByTestId("unplaced")).toHaveCount(0);
  await expect(page.getByTestId("timeline")).toContainText("定位");
  const moved = (await (
    await request.get(`${base()}/api/v1/cases/${kase.id}`, { headers: { Authorization: `Bearer ${dispatcher}` } })
  ).json()) as { lat: number; lon: number; place_id: number | null; version: number };
  expect(moved.place_id).toBeNull();
  // North-east of where it stood, in the stored WGS-84.
  expect(moved.lat).toBeGreaterThan(kase.lat);
  expect(moved.lon).toBeGreaterThan(kase.lon);
  expect(moved.version).toBe(2);
  await page.goto(`${base()}/console/cases?attention=placed_by_address`);
  await expect(page.getByTestId("cases")).not.toContainText(kase.number);
});

test("19. a second report of the same noise: the dispatcher sees the earlier one on the case page and merges into it", async ({
  page,
  request,
}) => {
  const first = await report(request, unique("南门广场舞音响（第一次举报）"));
  const second = await report(request, unique("南门广场舞音响（第二次举报）"));
  await signIn(page, "dispatcher");
  await page.goto(`${base()}/console/cases/${second.id}`);
  const dups = page.getByTestId("duplicates");
  await expect(dups).toContainText(first.number);
  await dups.getByTestId(`merge-${first.number}`).click();
  await expect(page.locator(".el-message-box")).toContainText(first.number);
  await page.locator(".el-message-box").getByRole("button", { name: "合并到此案" }).click();
  await expect(page.getByTestId("case-status")).toHaveText("不予受理");
  await expect(page.getByTestId("timeline")).toContainText(`重复于 ${first.number}`);
  await expect(page.getByTestId("duplicates")).toHaveCount(0);
  await page.goto(`${base()}/console/cases/${first.id}`);
  await expect(page.getByTestId("timeline")).toContainText(`合并了重复件 ${second.number}`);
  await expect(page.getByTestId("case-status")).toHaveText("待受理");
});

test("20. a leader stations a new officer in 文昌社区 with his duties and office hours, then ends it; the contact card follows", async ({
  page,
  request,
}) => {
  const admin = await login(request, "admin");
  const badge = `HZ9${Date.now() % 100000}`;
  const name = `孙${["一", "二", "三", "四", "五"][Date.now() % 5]}${["明", "亮", "华"][Date.now() % 3]}`;
  const created = await request.post(`${base()}/api/v1/admin/users`, {
    headers: { Authorization: `Bearer ${admin}` },
    data: {
      username: `officer.s${Date.now().toString(36)}`,
      display_name: name,
      role: "officer",
      password: "Wenchang-patrol-2026",
      badge_number: badge,
      areas: [{ level: "community", id: await communityId(request, "鼓楼社区") }],
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const wenchang = await communityId(request, "文昌社区");
  await signIn(page, "leader.haizhou1");
  await page.getByTestId("menu").getByText("派驻管理").click();
  await expect(page).toHaveURL(/\/console\/stationings$/);
  await page.getByTestId("stationing-community").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "文昌社区" }).click();
  await expect(page.getByTestId("stationings")).toContainText("田野");
  await page.getByTestId("stationing-new").click();
  // Nobody chosen: said at the field, nothing sent.
  await page.getByTestId("stationing-save").click();
  await expect(page.locator(".el-dialog .el-form-item.is-error")).toContainText("请选择队员");
  await page.getByTestId("stationing-officer").click();
  await page.getByTestId("stationing-officer").locator("input").fill(badge);
  await page.locator(".el-select-dropdown__item:visible", { hasText: badge }).click();
  await page.getByTestId("stationing-duties").fill("巡查南门商户门前四包");
  await page.getByTestId("stationing-phone").fill("12345");
  await page.getByTestId("stationing-save").click();
  // The server's refusal of the phone number, at its field; the rest stays as typed.
  await expect(page.locator(".el-dialog .el-form-item.is-error")).toHaveCount(1);
  await expect(page.getByTestId("stationing-duties")).toHaveValue("巡查南门商户门前四包");
  await page.getByTestId("stationing-phone").fill("13600003333");
  await page.getByTestId("stationing-save").click();
  const row = page.getByTestId("stationings").locator("tr", { hasText: name });
  await expect(row).toContainText("在岗");
  await expect(row).toContainText("巡查南门商户门前四包");
  await shot(page, "console-20-stationings");
  const card = async () =>
    (await (await request.get(`${base()}/api/v1/communities/${wenchang}/contact-card`)).json()) as { officers: { name: string }[] };
  expect((await card()).officers.map((o) => o.name)).toContain(name);
  await row.getByTestId("stationing-end").click();
  await page.locator(".el-message-box").getByRole("button", { name: "结束派驻" }).click();
  // Ending today keeps him on duty to the end of the day; the history shows the last day.
  await page.getByTestId("stationing-history").click();
  await expect(page.getByTestId("stationings").locator("tr", { hasText: name })).toContainText(/— \d{4}-\d{2}-\d{2}/);
});

test("21. an admin adds a category with a question of options, residents are asked it, then retires the category", async ({
  page,
  request,
}) => {
  const code = `stall_${Date.now().toString(36)}`;
  await signIn(page, "admin");
  await page.getByTestId("menu").getByText("问题分类").click();
  await expect(page.getByTestId("categories")).toContainText("噪声扰民");
  await page.getByTestId("category-new").click();
  await page.getByTestId("category-code").fill(code);
  await page.getByTestId("category-name-zh").fill("夜市摊点");
  await page.getByTestId("category-name-en").fill("");
  await page.getByTestId("category-save").click();
  // The English name is required: the server says so at the field.
  await expect(page.locator(".el-dialog .el-form-item.is-error")).toHaveCount(1);
  await page.getByTestId("category-name-en").fill("Night stalls");
  await page.getByTestId("category-save").click();
  await expect(page.getByTestId("categories")).toContainText(code);
  await page.getByTestId(`category-questions-${code}`).click();
  await page.getByTestId("question-add").click();
  await page.getByTestId("question-key").fill("size");
  await page.getByTestId("question-zh").fill("摊点规模");
  await page.getByTestId("question-en").fill("How many stalls");
  await page.getByTestId("question-type").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "单选" }).click();
  await page.getByTestId("question-choices").fill("few 三处以下 Up to three\nmany 三处以上 More than three");
  await page.getByTestId("questions-save").click();
  await expect(page.getByTestId("questions-error")).toHaveCount(0);
  await expect(page.getByTestId("categories").locator("tr", { hasText: code })).toContainText("1");
  await shot(page, "console-21-categories");
  const offered = async () =>
    ((await (await request.get(`${base()}/api/v1/categories`)).json()) as {
      code: string;
      attributes: { key: string; choices?: { code: string; label_zh: string }[] }[];
    }[]).find((c) => c.code === code);
  const shown = await offered();
  expect(shown?.attributes[0]?.key).toBe("size");
  expect(shown?.attributes[0]?.choices?.map((c) => c.label_zh)).toEqual(["三处以下", "三处以上"]);
  await page.getByTestId(`category-active-${code}`).click();
  await expect.poll(offered).toBeUndefined();
});
