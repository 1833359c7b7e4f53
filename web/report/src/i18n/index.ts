// The page's language: Chinese by default, English when the phone asks for it or by the toggle.
// Every request sends it as Accept-Language, so the server's problem titles come back in it too.
import { ref } from "vue";
import { Locale } from "vant";
import enUS from "vant/es/locale/lang/en-US";
import zhCN from "vant/es/locale/lang/zh-CN";
import { interpolate, lookup, type Params } from "@whistle/api";
import zh from "./zh-CN.json";
import en from "./en.json";

export type Lang = "zh-CN" | "en";
type Messages = Record<keyof typeof zh, string>;
const catalogues: Record<Lang, Messages> = { "zh-CN": zh, en: en satisfies Messages };

export function preferredLang(languages: readonly string[]): Lang {
  for (const l of languages) {
    const low = l.toLowerCase();
    if (low.startsWith("zh")) return "zh-CN";
    if (low.startsWith("en")) return "en";
  }
  return "zh-CN";
}

function initial(): Lang {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem("whistle.lang") : null;
  if (saved === "zh-CN" || saved === "en") return saved;
  return typeof navigator !== "undefined" ? preferredLang(navigator.languages ?? [navigator.language]) : "zh-CN";
}

export const lang = ref<Lang>(initial());

function apply(l: Lang) {
  Locale.use(l === "en" ? "en-US" : "zh-CN", l === "en" ? enUS : zhCN);
  if (typeof document !== "undefined") {
    document.documentElement.lang = l;
    document.title = catalogues[l]["app.title"];
  }
}
apply(lang.value);

export function setLang(l: Lang) {
  lang.value = l;
  localStorage.setItem("whistle.lang", l);
  apply(l);
}

export type MessageKey = keyof Messages;

export function t(key: MessageKey, params: Params = {}): string {
  return interpolate(lookup(catalogues[lang.value], key, key), params);
}

/** For keys built at run time (a status, an action): the key itself when unknown. */
export function tOr(key: string, fallback: string): string {
  return lookup(catalogues[lang.value], key, fallback);
}
