// Message catalogues of the pages: `{name}` placeholders filled from params; a key made at run
// time (a status, an action) falls back to what the caller gives when a catalogue lacks it.
export type Params = Record<string, string | number>;

export function interpolate(text: string, params: Params = {}): string {
  return text.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? ""));
}

export function lookup(catalogue: object, key: string, fallback: string): string {
  const text = (catalogue as Record<string, unknown>)[key];
  return typeof text === "string" ? text : fallback;
}
