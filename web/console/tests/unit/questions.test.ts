import { describe, expect, it } from "vitest";
import { fromDraft, toDraft, type Draft } from "../../src/lib/questions";

const draft = (over: Partial<Draft>): Draft => ({
  key: " time ",
  label_zh: " 发生时段 ",
  label_en: "When",
  type: "choice",
  required: true,
  choices: "",
  ...over,
});

describe("category questions", () => {
  it("reads one option per line, the English may have spaces, a bare code is its own label", () => {
    const q = fromDraft(draft({ choices: "night 夜间 At night\n\n  day 白天 During the day \nother" }));
    expect(q.key).toBe("time");
    expect(q.label_zh).toBe("发生时段");
    expect(q.choices).toEqual([
      { code: "night", label_zh: "夜间", label_en: "At night" },
      { code: "day", label_zh: "白天", label_en: "During the day" },
      { code: "other", label_zh: "other", label_en: "other" },
    ]);
  });
  it("sends only the bounds of its own kind", () => {
    const n = fromDraft(draft({ type: "number", min: 0, max: undefined, max_chars: 20, choices: "a b c" }));
    expect(n).toEqual({ key: "time", label_zh: "发生时段", label_en: "When", type: "number", required: true, min: 0 });
    const t = fromDraft(draft({ type: "text", max_chars: 200, min: 1 }));
    expect(t.max_chars).toBe(200);
    expect(t.min).toBeUndefined();
    expect(t.choices).toBeUndefined();
  });
  it("round-trips what the server sent", () => {
    const sent = {
      key: "time",
      label_zh: "发生时段",
      label_en: "When",
      type: "choice",
      required: false,
      choices: [
        { code: "night", label_zh: "夜间", label_en: "At night" },
        { code: "day", label_zh: "白天", label_en: "Daytime" },
      ],
    };
    expect(fromDraft(toDraft(sent))).toEqual(sent);
  });
});
