// An officer's work log (721 工作法): his entries, newest first, and his mix of the last 30 days
// against 70 / 20 / 10; a new entry reloads both.
import { ref } from "vue";
import { api, must, type Schemas } from "../lib/api";

export const ACTIVITIES = [
  "patrol",
  "home_visit",
  "lecture",
  "legal_education",
  "mediation",
  "enforcement",
  "joint_action",
] as const;

export function useWorkLogs() {
  const entries = ref<Schemas["WorkLogDto"][]>([]);
  const mix = ref<Schemas["WorkMixDto"]>();
  const error = ref<unknown>();

  async function load() {
    try {
      const from = new Date(Date.now() - 30 * 864e5).toISOString();
      const [list, m] = await Promise.all([
        must(api.GET("/api/v1/work-logs", { params: { query: { officer: "me", limit: 50 } } })),
        must(api.GET("/api/v1/work-logs/mix", { params: { query: { officer: "me", from } } })),
      ]);
      entries.value = list.items;
      mix.value = m;
      error.value = undefined;
    } catch (e) {
      error.value = e;
    }
  }

  async function add(entry: Schemas["NewWorkLogRequest"]) {
    await must(api.POST("/api/v1/work-logs", { body: entry }));
    await load();
  }

  return { entries, mix, error, load, add };
}
