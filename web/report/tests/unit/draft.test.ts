import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import {
  clearDraft,
  loadDraft,
  myReports,
  newDraft,
  newKey,
  openStore,
  photoToStored,
  rememberReport,
  saveDraft,
  storedToBlob,
} from "../../src/lib/draft";

let n = 0;
const fresh = () => openStore(`test-${n++}`);

describe("draft store", () => {
  it("keeps text, point, answers and photo bytes across a reload", async () => {
    const store = fresh();
    const d = newDraft("320706001001");
    d.description = "楼下KTV每晚噪音";
    d.category = "noise";
    d.attributes = { period: "night" };
    d.point = { lat: 34.6, lon: 119.2 };
    d.photos.push(await photoToStored(new Blob([new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])], { type: "image/jpeg" })));
    await saveDraft(d, store);

    const back = await loadDraft(store);
    expect(back?.description).toBe("楼下KTV每晚噪音");
    expect(back?.attributes).toEqual({ period: "night" });
    expect(back?.point).toEqual({ lat: 34.6, lon: 119.2 });
    expect(back?.community).toBe("320706001001");
    const blob = storedToBlob(back!.photos[0]!);
    expect(blob.type).toBe("image/jpeg");
    expect(Array.from(new Uint8Array(await blob.arrayBuffer()))).toEqual([0xff, 0xd8, 0xff, 1, 2, 3]);
  });

  it("keeps the idempotency key of the draft, made once when it starts", async () => {
    const store = fresh();
    const d = newDraft();
    await saveDraft(d, store);
    d.description = "changed";
    await saveDraft(d, store);
    expect((await loadDraft(store))?.idempotencyKey).toBe(d.idempotencyKey);
    expect(newDraft().idempotencyKey).not.toBe(d.idempotencyKey);
  });

  it("is gone after clearing", async () => {
    const store = fresh();
    await saveDraft(newDraft(), store);
    await clearDraft(store);
    expect(await loadDraft(store)).toBeUndefined();
  });

  it("remembers reported cases newest first, once each", async () => {
    const store = fresh();
    await rememberReport({ id: 1, number: "HZ-1", token: "a", at: "2026-12-01T00:00:00Z" }, store);
    await rememberReport({ id: 2, number: "HZ-2", token: "b", at: "2026-12-01T01:00:00Z" }, store);
    await rememberReport({ id: 1, number: "HZ-1", token: "a", at: "2026-12-01T02:00:00Z" }, store);
    expect((await myReports(store)).map((r) => r.id)).toEqual([1, 2]);
  });

  it("makes version-4 shaped keys", () => {
    expect(newKey()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
