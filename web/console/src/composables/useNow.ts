// A clock for countdowns: one timer per page, ticking each second while the page is open.
import { onBeforeUnmount, onMounted, ref } from "vue";

export function useNow(stepMs = 1000) {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | undefined;
  onMounted(() => (timer = setInterval(() => (now.value = Date.now()), stepMs)));
  onBeforeUnmount(() => clearInterval(timer));
  return now;
}
