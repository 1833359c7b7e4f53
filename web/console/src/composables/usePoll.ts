// Runs `load` now and every `everyMs` while the page is open and visible, and at once when the
// tab comes back; a failed round keeps the last answer and says so.
import { onBeforeUnmount, onMounted, ref } from "vue";

export function usePoll(load: () => Promise<void>, everyMs: number) {
  const error = ref<unknown>();
  const loadedAt = ref<Date>();
  const loading = ref(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  async function round() {
    clearTimeout(timer);
    if (stopped) return;
    loading.value = true;
    try {
      await load();
      error.value = undefined;
      loadedAt.value = new Date();
    } catch (e) {
      error.value = e;
    } finally {
      loading.value = false;
      if (!stopped) timer = setTimeout(round, everyMs);
    }
  }
  const onVisible = () => {
    if (document.visibilityState === "visible") void round();
  };
  // The first round starts with the page's setup, not after its first render: the request is
  // on its way while the page's frame is drawn.
  void round();
  onMounted(() => document.addEventListener("visibilitychange", onVisible));
  onBeforeUnmount(() => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  });
  return { error, loadedAt, loading, refresh: round };
}
