// The command centre's list: filters kept in the URL (a shared link shows the same list), pages
// by cursor, refreshed every 15 s so new reports show without a reload.
import { reactive, ref, watch } from "vue";
import { useRoute, useRouter } from "vue-router";
import { api, must, type CaseDto } from "../lib/api";
import { usePoll } from "./usePoll";

export const OPEN = "reported,accepted,dispatched,in_progress,resolved,verified";

export interface Filters {
  status: string;
  community_id?: number;
  category: string;
  source: string;
  overdue: boolean;
  q: string;
  /** A work list: `extension_request`, `escalated` or `placed_by_address` (open cases only). */
  attention: string;
}

export function useCaseList() {
  const route = useRoute();
  const router = useRouter();
  const q = route.query;
  const filters = reactive<Filters>({
    status: typeof q.status === "string" ? q.status : OPEN,
    community_id: q.community_id ? Number(q.community_id) : undefined,
    category: typeof q.category === "string" ? q.category : "",
    source: typeof q.source === "string" ? q.source : "",
    overdue: q.overdue === "true",
    q: typeof q.q === "string" ? q.q : "",
    attention: typeof q.attention === "string" ? q.attention : "",
  });
  const items = ref<CaseDto[]>([]);
  const next = ref<string | null>(null);
  let pages = 1;

  function query(cursor?: string) {
    return {
      status: filters.status || undefined,
      community_id: filters.community_id,
      category: filters.category || undefined,
      source: filters.source || undefined,
      overdue: filters.overdue || undefined,
      q: filters.q.trim() || undefined,
      attention: filters.attention || undefined,
      limit: 50,
      cursor,
    };
  }

  /** Reloads as many pages as are shown, so a refresh does not shorten the list. */
  async function load() {
    let all: CaseDto[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < pages; i++) {
      const page = await must(api.GET("/api/v1/cases", { params: { query: query(cursor) } }));
      all = all.concat(page.items);
      next.value = page.next_cursor ?? null;
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    items.value = all;
  }

  async function more() {
    if (!next.value) return;
    const page = await must(api.GET("/api/v1/cases", { params: { query: query(next.value) } }));
    items.value = items.value.concat(page.items);
    next.value = page.next_cursor ?? null;
    pages += 1;
  }

  const poll = usePoll(load, 15_000);
  watch(
    filters,
    () => {
      pages = 1;
      const shown: Record<string, string> = {};
      for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== "" && v !== false) shown[k] = String(v);
      void router.replace({ query: shown });
      void poll.refresh();
    },
    { deep: true },
  );
  return { filters, items, next, more, ...poll };
}
