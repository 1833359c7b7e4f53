import { describe, expect, it } from "vitest";
import { lineOfField, parsePlaces, splitCsv } from "../../src/lib/csv";

describe("the address book's CSV", () => {
  it("splits quoted fields, doubled quotes, CRLF and a BOM", () => {
    expect(splitCsv('\uFEFFa,"b,c","say ""hi"""\r\n1,2,3\n')).toEqual([
      ["a", "b,c", 'say "hi"'],
      ["1", "2", "3"],
    ]);
  });
  it("reads English or Chinese headers in any order, and skips blank lines", () => {
    const { rows, lines, errors } = parsePlaces("经度,纬度,名称,类型\n119.142,34.5865,文昌社区南门,landmark\n\n119.15,34.59,文昌路18号,address\n");
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      { name: "文昌社区南门", kind: "landmark", lat: 34.5865, lon: 119.142 },
      { name: "文昌路18号", kind: "address", lat: 34.59, lon: 119.15 },
    ]);
    expect(lines).toEqual([2, 4]);
  });
  it("names each wrong row by its line, and a missing column", () => {
    expect(parsePlaces("name,kind,lat\nx,address,1").errors).toEqual([{ line: 1, message: "missing column: lon" }]);
    const { errors } = parsePlaces("name,kind,lat,lon\n,address,1,2\nA,address,north,2\nB,address,34.5,119.1");
    expect(errors).toEqual([
      { line: 2, message: "name is empty" },
      { line: 3, message: "lat and lon must be numbers" },
    ]);
  });
  it("maps a server refusal's field to the file's line", () => {
    expect(lineOfField("places[1].lat", [2, 4, 5])).toBe(4);
    expect(lineOfField("places", [2])).toBeUndefined();
  });
});
