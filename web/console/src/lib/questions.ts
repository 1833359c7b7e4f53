// A category's extra question as the admin edits it, and back to what the server takes. Choice
// options are typed one per line: `code 中文 English` (the English may have spaces; a line with
// only a code uses it for both languages).
import type { Schemas } from "./api";

export type Question = Schemas["AttributeDto"];

export interface Draft {
  key: string;
  label_zh: string;
  label_en: string;
  type: string;
  required: boolean;
  max_chars?: number;
  min?: number;
  max?: number;
  choices: string;
}

export function toDraft(q: Question): Draft {
  return {
    key: q.key,
    label_zh: q.label_zh,
    label_en: q.label_en,
    type: q.type,
    required: q.required ?? false,
    max_chars: q.max_chars ?? undefined,
    min: q.min ?? undefined,
    max: q.max ?? undefined,
    choices: (q.choices ?? []).map((c) => [c.code, c.label_zh, c.label_en].join(" ")).join("\n"),
  };
}

const given = (n: number | null | undefined): n is number => typeof n === "number" && Number.isFinite(n);

export function fromDraft(d: Draft): Question {
  const q: Question = {
    key: d.key.trim(),
    label_zh: d.label_zh.trim(),
    label_en: d.label_en.trim(),
    type: d.type,
    required: d.required,
  };
  if (d.type === "text" && given(d.max_chars)) q.max_chars = d.max_chars;
  if (d.type === "number") {
    if (given(d.min)) q.min = d.min;
    if (given(d.max)) q.max = d.max;
  }
  if (d.type === "choice") {
    q.choices = d.choices
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [code = "", zh = code, ...en] = l.split(/\s+/);
        return { code, label_zh: zh, label_en: en.join(" ") || code };
      });
  }
  return q;
}
