// The report being written, kept in IndexedDB (FixMyStreet's offline drafts): a closed tab or a
// dead network loses nothing, and the Idempotency-Key made when the draft starts is the one
// every submit attempt sends, so a retried submit never makes a second case.
import { createStore, del, get, set, type UseStore } from "idb-keyval";

export interface StoredPhoto {
  type: string;
  /** Bytes, not a Blob: some in-app browsers cannot keep Blobs in IndexedDB. */
  data: ArrayBuffer;
}

export interface Point {
  lat: number;
  lon: number;
}

export type DraftState = "editing" | "submitting" | "created";

export interface Draft {
  idempotencyKey: string;
  startedAt: string;
  community?: string;
  category?: string;
  attributes: Record<string, string | number | boolean>;
  description: string;
  reporterName: string;
  reporterPhone: string;
  point?: Point;
  placeId?: number;
  placeName?: string;
  photos: StoredPhoto[];
  state: DraftState;
  /** The account the report is sent as (set when submitting starts, so every retry sends the
   *  same Idempotency-Key under the same account); absent: anonymous. */
  accountId?: number;
  /** Once the case exists: what the photo uploads and the tracking page need. */
  caseId?: number;
  caseNumber?: string;
  trackingToken?: string;
}

/** A case this phone reported, for "我的举报" without an account. */
export interface MyReport {
  id: number;
  number: string;
  token: string;
  at: string;
}

const KEY = "current";
const MINE = "mine";

export function openStore(name = "whistle-report"): UseStore {
  return createStore(name, "drafts");
}

export function newKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // Old WebViews: a v4-shaped key from getRandomValues.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function newDraft(community?: string, now = new Date()): Draft {
  return {
    idempotencyKey: newKey(),
    startedAt: now.toISOString(),
    community,
    attributes: {},
    description: "",
    reporterName: "",
    reporterPhone: "",
    photos: [],
    state: "editing",
  };
}

export async function loadDraft(store: UseStore): Promise<Draft | undefined> {
  return get<Draft>(KEY, store);
}

export async function saveDraft(draft: Draft, store: UseStore): Promise<void> {
  // A plain copy: reactive proxies cannot be cloned into IndexedDB.
  const plain: Draft = {
    ...draft,
    attributes: { ...draft.attributes },
    point: draft.point ? { ...draft.point } : undefined,
    photos: draft.photos.map((p) => ({ type: p.type, data: p.data })),
  };
  await set(KEY, plain, store);
}

export async function clearDraft(store: UseStore): Promise<void> {
  await del(KEY, store);
}

export async function photoToStored(blob: Blob): Promise<StoredPhoto> {
  return { type: blob.type || "image/jpeg", data: await blob.arrayBuffer() };
}

export function storedToBlob(p: StoredPhoto): Blob {
  return new Blob([p.data], { type: p.type });
}

export async function myReports(store: UseStore): Promise<MyReport[]> {
  return (await get<MyReport[]>(MINE, store)) ?? [];
}

export async function rememberReport(r: MyReport, store: UseStore): Promise<void> {
  const list = (await myReports(store)).filter((x) => x.id !== r.id);
  await set(MINE, [r, ...list].slice(0, 50), store);
}
