// The leader's figures for a period (7, 30 or 90 days) and the one before it, the trend, and a
// table by community or by officer. Scope: the leader's jurisdiction, or one street of it; the
// server refuses (403) a street outside it, and the page shows that refusal.
import { reactive, ref, watch } from "vue";
import { useRoute, useRouter } from "vue-router";
import { api, must, type Schemas } from "../lib/api";
import { bucketFor, periods } from "../lib/period";

type Summary = Schemas["SummaryDto"];

export interface DashboardFilters {
  days: number;
  street?: number;
  group: "community" | "officer";
}

export function useDashboard() {
  const route = useRoute();
  const router = useRouter();
  const filters = reactive<DashboardFilters>({
    days: [7, 30, 90].includes(Number(route.query.days)) ? Number(route.query.days) : 30,
    street: route.query.street ? Number(route.query.street) : undefined,
    group: route.query.group === "officer" ? "officer" : "community",
  });
  const current = ref<Summary>();
  const previous = ref<Summary>();
  const trend = ref<Summary>();
  const table = ref<Summary>();
  const error = ref<unknown>();
  const loading = ref(false);

  function summary(query: Record<string, string | number | undefined>) {
    return must(api.GET("/api/v1/analytics/summary", { params: { query: { ...query, street: filters.street } } }));
  }

  async function load() {
    loading.value = true;
    error.value = undefined;
    try {
      const { current: now, previous: before } = periods(filters.days, Date.now());
      const [c, p, tr, tb] = await Promise.all([
        summary({ ...now }),
        summary({ ...before }),
        summary({ ...now, group_by: bucketFor(filters.days) }),
        summary({ ...now, group_by: filters.group }),
      ]);
      current.value = c;
      previous.value = p;
      trend.value = tr;
      table.value = tb;
    } catch (e) {
      error.value = e;
      current.value = previous.value = trend.value = table.value = undefined;
    } finally {
      loading.value = false;
    }
  }

  watch(
    filters,
    () => {
      const q: Record<string, string> = { days: String(filters.days), group: filters.group };
      if (filters.street) q.street = String(filters.street);
      void router.replace({ query: q });
      void load();
    },
    { deep: true },
  );
  return { filters, current, previous, trend, table, error, loading, load };
}
