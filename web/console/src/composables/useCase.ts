// One case as the console shows it: the case, its timeline and its photos, reloaded after each
// action. An action sends the version last read; if someone changed the case meanwhile the
// case is reloaded and the form stays as it was, so nothing typed is lost.
import { ref } from "vue";
import { api, ApiError, blobUrl, must, uploadCasePhoto, type CaseDto, type Schemas } from "../lib/api";

export type ActionBody = Omit<Schemas["ActionRequest"], "version">;

export interface Photo {
  id: number;
  kind: string;
  src: string;
}

export function useCase(id: number) {
  const kase = ref<CaseDto>();
  const events = ref<Schemas["EventDto"][]>([]);
  const photos = ref<Photo[]>([]);
  const error = ref<unknown>();

  async function load() {
    try {
      const path = { params: { path: { id } } };
      const [c, tl, att] = await Promise.all([
        must(api.GET("/api/v1/cases/{id}", { params: { path: { id: String(id) } } })),
        must(api.GET("/api/v1/cases/{id}/timeline", path)),
        must(api.GET("/api/v1/cases/{id}/attachments", path)),
      ]);
      kase.value = c;
      events.value = tl;
      photos.value.forEach((p) => URL.revokeObjectURL(p.src));
      photos.value = await Promise.all(att.map(async (a) => ({ id: a.id, kind: a.kind, src: await blobUrl(a.url) })));
      error.value = undefined;
    } catch (e) {
      error.value = e;
    }
  }

  /**
   * Sends one action; after-photos (for `resolve`) go up first, so a refused upload leaves the
   * case as it was. Throws the server's refusal for the form to show at its field.
   */
  async function act(body: ActionBody, afterPhotos: Blob[] = []): Promise<void> {
    const c = kase.value;
    if (!c) return;
    for (const p of afterPhotos) await uploadCasePhoto(c.id, p, "after");
    try {
      await must(
        api.POST("/api/v1/cases/{id}/actions", {
          params: { path: { id: c.id } },
          body: { ...body, version: c.version },
        }),
      );
    } catch (e) {
      if (e instanceof ApiError && (e.code === "version_conflict" || e.status === 412)) await load();
      throw e;
    }
    await load();
  }

  /** Places the case at a point picked on the map (WGS-84); throws the server's refusal. */
  async function locate(lat: number, lon: number): Promise<void> {
    const c = kase.value;
    if (!c) return;
    try {
      await must(
        api.PUT("/api/v1/cases/{id}/location", {
          params: { path: { id: c.id } },
          body: { lat, lon, version: c.version },
        }),
      );
    } catch (e) {
      if (e instanceof ApiError && e.code === "version_conflict") await load();
      throw e;
    }
    await load();
  }

  return { kase, events, photos, error, load, act, locate };
}
