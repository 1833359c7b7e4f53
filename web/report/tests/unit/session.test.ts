import { describe, expect, it } from "vitest";
import { Session, type KeyValueStore } from "@whistle/api";

function memory(): KeyValueStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

const account = { id: 7, username: "13800001234", display_name: "李阿姨", role: "resident" };
const dto = (n: number) => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-${n}`,
  token_type: "Bearer",
  expires_in: 900,
  refresh_expires_in: 3600,
  session_id: "s",
  password_change_required: false,
  account,
});
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** A server whose access tokens are good from `valid` on; refresh tokens work once each. */
function server(opts: { refreshWorks: boolean }) {
  let issued = 1;
  const used = new Set<string>();
  const seen: { url: string; auth: string | null; body: string }[] = [];
  const send = async (r: Request) => {
    const body = await r.clone().text();
    seen.push({ url: new URL(r.url).pathname, auth: r.headers.get("Authorization"), body });
    if (r.url.endsWith("/api/v1/auth/refresh")) {
      const { refresh_token } = JSON.parse(body) as { refresh_token: string };
      if (!opts.refreshWorks || used.has(refresh_token)) return json(401, { code: "invalid_token" });
      used.add(refresh_token);
      issued += 1;
      return json(200, dto(issued));
    }
    if (r.headers.get("Authorization") !== `Bearer access-${issued}`) return json(401, { code: "token_expired" });
    return json(200, { ok: true, body });
  };
  return { send, seen, expire: () => (issued += 100) };
}

describe("Session", () => {
  it("sends the bearer token and keeps the session in storage", async () => {
    const store = memory();
    const srv = server({ refreshWorks: true });
    const s = new Session("k", store, "http://x", srv.send);
    s.adopt(dto(1) as never);
    const res = await s.fetch(new Request("http://x/api/v1/cases"));
    expect(res.status).toBe(200);
    expect(srv.seen[0]!.auth).toBe("Bearer access-1");
    expect(JSON.parse(store.map.get("k")!).account.display_name).toBe("李阿姨");
  });

  it("on a 401 refreshes once for all waiting requests and sends each again with its body", async () => {
    const srv = server({ refreshWorks: true });
    const s = new Session("k", memory(), "http://x", srv.send);
    s.adopt(dto(1) as never);
    srv.expire(); // access-1 is stale now; refresh-1 still works, once
    const [a, b] = await Promise.all([
      s.fetch(new Request("http://x/a", { method: "POST", body: "form-a" })),
      s.fetch(new Request("http://x/b", { method: "POST", body: "form-b" })),
    ]);
    expect(srv.seen.filter((r) => r.url === "/api/v1/auth/refresh")).toHaveLength(1);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(((await a.json()) as { body: string }).body).toBe("form-a");
    expect(((await b.json()) as { body: string }).body).toBe("form-b");
    expect(s.current?.access_token).toBe("access-102");
  });

  it("a refused refresh ends the session and hands back the 401, nothing thrown", async () => {
    const store = memory();
    const srv = server({ refreshWorks: false });
    const s = new Session("k", store, "http://x", srv.send);
    s.adopt(dto(1) as never);
    srv.expire();
    let ended = false;
    s.onChange((now) => (ended = now === undefined));
    const res = await s.fetch(new Request("http://x/api/v1/cases"));
    expect(res.status).toBe(401);
    expect(ended).toBe(true);
    expect(store.map.has("k")).toBe(false);
  });

  it("without a session, requests go out unsigned", async () => {
    const srv = server({ refreshWorks: true });
    const s = new Session("k", memory(), "http://x", srv.send);
    await s.fetch(new Request("http://x/api/v1/categories"));
    expect(srv.seen[0]!.auth).toBeNull();
  });
});
