// An officer's queue: the cases dispatched to him that are still in his hands, and the new
// reports of his communities that he may take (小事一格解决), most urgent first. Polled every
// 10 s; cases that were not there on the previous round are marked new.
import { ref } from "vue";
import { api, must, type CaseDto } from "../lib/api";
import { usePoll } from "./usePoll";

export const QUEUE_POLL_MS = 10_000;
const MINE = "dispatched,in_progress,resolved";

function byDeadline(a: CaseDto, b: CaseDto): number {
  const da = a.stage_due ? Date.parse(a.stage_due) : Infinity;
  const db = b.stage_due ? Date.parse(b.stage_due) : Infinity;
  return da - db || b.id - a.id;
}

export function useQueue() {
  const items = ref<CaseDto[]>([]);
  const fresh = ref<Set<number>>(new Set());
  let seen: Set<number> | undefined;

  async function load() {
    const [mine, reported] = await Promise.all([
      must(api.GET("/api/v1/cases", { params: { query: { assignee: "me", status: MINE, limit: 200 } } })),
      must(api.GET("/api/v1/cases", { params: { query: { status: "reported", limit: 200 } } })),
    ]);
    const all = [...mine.items, ...reported.items.filter((c) => c.actions.includes("accept"))];
    all.sort(byDeadline);
    fresh.value = seen ? new Set(all.filter((c) => !seen!.has(c.id)).map((c) => c.id)) : new Set();
    seen = new Set(all.map((c) => c.id));
    items.value = all;
  }

  const poll = usePoll(load, QUEUE_POLL_MS);
  return { items, fresh, ...poll };
}
