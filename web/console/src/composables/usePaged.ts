// A list the API serves in pages by cursor: the first page when the page opens and whenever
// `source` (the filters) changes, more pages on demand; a failure keeps what is shown and says so.
import { onMounted, ref, shallowRef, watch, type WatchSource } from "vue";
import { messageOf } from "../lib/api";
import { t } from "../i18n";

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export function usePaged<T>(fetch: (cursor?: string) => Promise<Page<T>>, source: WatchSource) {
  const items = shallowRef<T[]>([]);
  const next = ref<string | null>(null);
  const error = ref("");

  async function load(cursor?: string) {
    try {
      const page = await fetch(cursor);
      items.value = cursor ? [...items.value, ...page.items] : page.items;
      next.value = page.next_cursor ?? null;
      error.value = "";
    } catch (e) {
      error.value = messageOf(e, t("error.network"));
    }
  }
  onMounted(() => load());
  watch(source, () => load());
  return { items, next, error, load, more: () => (next.value ? load(next.value) : Promise.resolve()) };
}
