// The address book's CSV as a bureau keeps it in a spreadsheet: a header row naming the columns
// (name, kind, lat, lon, optionally crs; Chinese headers 名称, 类型, 纬度, 经度, 坐标系 too), then
// one place per row. Quoted fields may hold commas and doubled quotes. Each row that cannot be
// read is reported with its line number; nothing is sent while any row is wrong.
export interface PlaceRow {
  name: string;
  kind: string;
  lat: number;
  lon: number;
  crs?: string;
}

export interface RowError {
  line: number;
  message: string;
}

export function splitCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  const src = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const HEADERS: Record<string, keyof PlaceRow> = {
  name: "name",
  名称: "name",
  kind: "kind",
  类型: "kind",
  lat: "lat",
  纬度: "lat",
  lon: "lon",
  经度: "lon",
  crs: "crs",
  坐标系: "crs",
};

export function parsePlaces(text: string): { rows: PlaceRow[]; lines: number[]; errors: RowError[] } {
  const all = splitCsv(text);
  const header = (all[0] ?? []).map((h) => HEADERS[h.trim().toLowerCase()] ?? HEADERS[h.trim()]);
  const errors: RowError[] = [];
  for (const need of ["name", "kind", "lat", "lon"] as const) {
    if (!header.includes(need)) errors.push({ line: 1, message: `missing column: ${need}` });
  }
  if (errors.length) return { rows: [], lines: [], errors };
  const rows: PlaceRow[] = [];
  const lines: number[] = [];
  all.slice(1).forEach((cells, i) => {
    const line = i + 2;
    if (cells.every((c) => !c.trim())) return;
    const get = (k: keyof PlaceRow) => (cells[header.indexOf(k)] ?? "").trim();
    const lat = Number(get("lat"));
    const lon = Number(get("lon"));
    if (!get("name")) errors.push({ line, message: "name is empty" });
    else if (!get("lat") || !Number.isFinite(lat) || !get("lon") || !Number.isFinite(lon)) {
      errors.push({ line, message: "lat and lon must be numbers" });
    } else {
      rows.push({ name: get("name"), kind: get("kind"), lat, lon, ...(get("crs") ? { crs: get("crs") } : {}) });
      lines.push(line);
    }
  });
  return { rows, lines, errors };
}

/** The line of the file a server refusal names (`places[3].lat` → the fourth place's line). */
export function lineOfField(field: string | undefined, lines: number[]): number | undefined {
  const m = field?.match(/^places\[(\d+)\]/);
  return m ? lines[Number(m[1])] : undefined;
}
