// One case followed by its reporter: with the tracking token (anonymous reports) or through the
// signed-in account ("我的举报"). The case, its public timeline, its photos, and the reporter's
// word on it (comment, rating, reopen).
import { ref } from "vue";
import { accountApi, api, must, photoUrl, type CaseAuth, type Schemas } from "../lib/api";
import { HttpError } from "../lib/retry";
import { lang } from "../i18n";

export function useCase(ref_: string, auth: CaseAuth) {
  const kase = ref<Schemas["CaseDto"]>();
  /** The category's name in the page's language. */
  const categoryName = ref("");
  const timeline = ref<Schemas["EventDto"][]>([]);
  const afterPhotos = ref<string[]>([]);
  const reportPhotos = ref<string[]>([]);
  const error = ref<unknown>();
  const loading = ref(false);
  const byToken = "token" in auth;
  const client = byToken ? api : accountApi;
  const header = byToken ? { "X-Tracking-Token": auth.token } : {};

  async function load() {
    loading.value = true;
    error.value = undefined;
    try {
      const c = await must(client.GET("/api/v1/cases/{id}", { params: { path: { id: ref_ }, header } }));
      kase.value = c;
      categoryName.value = (lang.value === "en" ? c.category_name_en : c.category_name_zh) ?? c.category;
      timeline.value = await must(client.GET("/api/v1/cases/{id}/timeline", { params: { path: { id: c.id }, header } }));
      const photos = await must(
        client.GET("/api/v1/cases/{id}/attachments", { params: { path: { id: c.id }, header } }),
      ).catch(() => [] as Schemas["AttachmentDto"][]);
      const urls = async (kind: string) =>
        Promise.all(photos.filter((p) => p.kind === kind).map((p) => photoUrl(p.url, auth)));
      [afterPhotos.value, reportPhotos.value] = await Promise.all([urls("after"), urls("report")]);
    } catch (e) {
      error.value = e;
    } finally {
      loading.value = false;
    }
  }

  /** The reporter's word on the case: the token's feedback endpoint, or the account's actions. */
  async function feedback(body: { action: "comment" | "rate" | "reopen"; rating?: number; note?: string }) {
    const c = kase.value;
    if (!c) return;
    const { response, error: problem } = byToken
      ? await api.POST("/api/v1/cases/{id}/feedback", {
          params: { path: { id: c.id }, header: header as { "X-Tracking-Token": string } },
          body: { ...body, version: c.version },
        })
      : await accountApi.POST("/api/v1/cases/{id}/actions", {
          params: { path: { id: c.id } },
          body: { ...body, version: c.version },
        });
    if (!response.ok) throw new HttpError(response.status, problem as HttpError["problem"]);
    await load();
  }

  return { kase, categoryName, timeline, afterPhotos, reportPhotos, error, loading, load, feedback };
}
