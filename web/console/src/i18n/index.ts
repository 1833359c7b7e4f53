// The console's language: Chinese by default, English by the toggle (or a browser that asks for
// it). Requests send it as Accept-Language, so the server's refusals come back in it too.
import { computed, ref } from "vue";
import { interpolate, lookup, type Params } from "@whistle/api";
import zh from "./zh-CN.json";
import en from "./en.json";

export type Lang = "zh-CN" | "en";
type Messages = Record<keyof typeof zh, string>;
const catalogues: Record<Lang, Messages> = { "zh-CN": zh, en: en satisfies Messages };
const KEY = "whistle.console.lang";

function initial(): Lang {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem(KEY) : null;
  if (saved === "zh-CN" || saved === "en") return saved;
  const asked = typeof navigator !== "undefined" ? (navigator.languages ?? [navigator.language]) : [];
  for (const l of asked) {
    if (l.toLowerCase().startsWith("zh")) return "zh-CN";
    if (l.toLowerCase().startsWith("en")) return "en";
  }
  return "zh-CN";
}

export const lang = ref<Lang>(initial());
export const isEnglish = computed(() => lang.value === "en");

function apply(l: Lang) {
  if (typeof document === "undefined") return;
  document.documentElement.lang = l;
  document.title = catalogues[l]["app.title"];
}
apply(lang.value);

export function setLang(l: Lang) {
  lang.value = l;
  localStorage.setItem(KEY, l);
  apply(l);
}

export type MessageKey = keyof Messages;

export function t(key: MessageKey, params: Params = {}): string {
  return interpolate(lookup(catalogues[lang.value], key, key), params);
}

/** For keys made at run time (a status, an action, a role): the fallback when unknown. */
export function tOr(key: string, fallback: string): string {
  return lookup(catalogues[lang.value], key, fallback);
}
