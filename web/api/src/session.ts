// A signed-in session for the web front ends: the access and refresh tokens kept in the
// browser's storage, sent as `Authorization: Bearer …`, and refreshed once when the server
// answers 401 (the refresh token rotates: each works once), after which the request is sent
// again. A refresh that fails ends the session; the request's own answer is returned, so a form
// the user was filling is never lost by the page.
import type { components } from "./schema";

type SessionDto = components["schemas"]["SessionDto"];
export type Account = components["schemas"]["AccountDto"];

export interface StoredSession {
  access_token: string;
  refresh_token: string;
  account: Account;
}

/** The subset of `Storage` a session needs (tests pass a Map-backed one). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export class Session {
  private refreshing: Promise<boolean> | undefined;
  private listeners = new Set<(s: StoredSession | undefined) => void>();

  constructor(
    private readonly key: string,
    private readonly storage: KeyValueStore,
    private readonly baseUrl = "",
    private readonly send: (r: Request) => Promise<Response> = (r) => fetch(r),
  ) {}

  /** The stored session, read afresh (another tab may have refreshed it). */
  get current(): StoredSession | undefined {
    const raw = this.storage.getItem(this.key);
    if (!raw) return undefined;
    try {
      const s = JSON.parse(raw) as StoredSession;
      return s.access_token && s.refresh_token ? s : undefined;
    } catch {
      return undefined;
    }
  }

  /** Called with the new session (or `undefined` when it ended). */
  onChange(listener: (s: StoredSession | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Keeps what a login, a registration or a refresh answered. */
  adopt(dto: SessionDto): StoredSession {
    const s: StoredSession = {
      access_token: dto.access_token,
      refresh_token: dto.refresh_token,
      account: dto.account,
    };
    this.storage.setItem(this.key, JSON.stringify(s));
    this.listeners.forEach((l) => l(s));
    return s;
  }

  /** Forgets the session here (the server's logout is `logout`). */
  clear(): void {
    this.storage.removeItem(this.key);
    this.listeners.forEach((l) => l(undefined));
  }

  /** Ends the session on the server too (its refresh token stops working), then here. */
  async logout(): Promise<void> {
    const s = this.current;
    if (s) {
      try {
        await this.send(
          new Request(`${this.baseUrl}/api/v1/auth/logout`, {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: `Bearer ${s.access_token}` },
            body: JSON.stringify({ refresh_token: s.refresh_token }),
          }),
        );
      } catch {
        // Offline: the tokens are forgotten here all the same and expire on their own.
      }
    }
    this.clear();
  }

  /**
   * Exchanges the refresh token for a new pair, once for all requests waiting on it. `false`
   * when the server refused it (the session is over); a network failure throws and keeps it.
   */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const s = this.current;
    if (!s) return false;
    const res = await this.send(
      new Request(`${this.baseUrl}/api/v1/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
      }),
    );
    if (res.ok) {
      this.adopt((await res.json()) as SessionDto);
      return true;
    }
    // Another tab may have rotated the token meanwhile: then its new one is in storage.
    const now = this.current;
    if (now && now.refresh_token !== s.refresh_token) return true;
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) this.clear();
    return false;
  }

  /** `fetch` with the session's bearer token; a 401 refreshes once and sends the request again. */
  fetch = async (request: Request): Promise<Response> => {
    const s = this.current;
    if (!s) return this.send(request);
    const retry = request.clone();
    const first = new Request(request);
    first.headers.set("Authorization", `Bearer ${s.access_token}`);
    const res = await this.send(first);
    if (res.status !== 401) return res;
    // The token may have been refreshed by another request (or tab) while this one was out.
    const after = this.current;
    const fresh = after && after.access_token !== s.access_token ? true : await this.refresh();
    const now = this.current;
    if (!fresh || !now) return res;
    retry.headers.set("Authorization", `Bearer ${now.access_token}`);
    return this.send(retry);
  };
}
