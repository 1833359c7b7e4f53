// One case followed with its tracking token: the case, its public timeline, its photos.
import { ref } from "vue";
import { api, must, photoUrl, type Schemas } from "../lib/api";
import { HttpError } from "../lib/retry";

export function useCase(ref_: string, token: string) {
  const kase = ref<Schemas["CaseDto"]>();
  /** The category's name in the page's language (the case carries its code). */
  const categoryName = ref("");
  const timeline = ref<Schemas["EventDto"][]>([]);
  const afterPhotos = ref<string[]>([]);
  const reportPhotos = ref<string[]>([]);
  const error = ref<unknown>();
  const loading = ref(false);
  const headers = { "X-Tracking-Token": token };

  async function load() {
    loading.value = true;
    error.value = undefined;
    try {
      const c = await must(api.GET("/api/v1/cases/{id}", { params: { path: { id: ref_ }, header: headers } }));
      kase.value = c;
      const categories = await must(api.GET("/api/v1/categories", {})).catch(() => []);
      categoryName.value = categories.find((x) => x.code === c.category)?.name ?? c.category;
      timeline.value = await must(
        api.GET("/api/v1/cases/{id}/timeline", { params: { path: { id: c.id }, header: headers } }),
      );
      const photos = await must(
        api.GET("/api/v1/cases/{id}/attachments", { params: { path: { id: c.id }, header: headers } }),
      ).catch(() => [] as Schemas["AttachmentDto"][]);
      const urls = async (kind: string) =>
        Promise.all(photos.filter((p) => p.kind === kind).map((p) => photoUrl(p.url, token)));
      [afterPhotos.value, reportPhotos.value] = await Promise.all([urls("after"), urls("report")]);
    } catch (e) {
      error.value = e;
    } finally {
      loading.value = false;
    }
  }

  /** The reporter's word on the case (comment, rate, reopen), authorised by the token. */
  async function feedback(body: Omit<Schemas["FeedbackRequest"], "version">) {
    const c = kase.value;
    if (!c) return;
    const { response, error: problem } = await api.POST("/api/v1/cases/{id}/feedback", {
      params: { path: { id: c.id }, header: headers },
      body: { ...body, version: c.version },
    });
    if (!response.ok) throw new HttpError(response.status, problem as HttpError["problem"]);
    await load();
  }

  return { kase, categoryName, timeline, afterPhotos, reportPhotos, error, loading, load, feedback };
}
