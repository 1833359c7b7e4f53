import { describe, expect, it } from "vitest";
import { checkPhoto, fitWithin, MAX_INPUT_BYTES, PhotoRefused, sniffKind } from "../../src/lib/compress";

const bytes = (...xs: (number | string)[]) =>
  new Uint8Array(xs.flatMap((x) => (typeof x === "string" ? Array.from(x, (c) => c.charCodeAt(0)) : [x])));

describe("sniffKind", () => {
  it("recognises photos by their first bytes, not their names", () => {
    expect(sniffKind(bytes(0xff, 0xd8, 0xff, 0xe1))).toBe("jpeg");
    expect(sniffKind(bytes(0x89, "PNG\r\n"))).toBe("png");
    expect(sniffKind(bytes("RIFF", 0, 0, 0, 0, "WEBPVP8 "))).toBe("webp");
    expect(sniffKind(bytes(0, 0, 0, 0x18, "ftypheic"))).toBe("heic");
    expect(sniffKind(bytes(0, 0, 0, 0x18, "ftypmif1"))).toBe("heic");
    expect(sniffKind(bytes("%PDF-1.7"))).toBe("unknown");
    expect(sniffKind(bytes())).toBe("unknown");
  });
});

describe("fitWithin", () => {
  it("shrinks a 12 MP photo to 2048 px on its long side, keeping the ratio", () => {
    expect(fitWithin(4000, 3000)).toEqual({ width: 2048, height: 1536 });
    expect(fitWithin(3000, 4000)).toEqual({ width: 1536, height: 2048 });
  });
  it("never enlarges a small photo", () => {
    expect(fitWithin(800, 600)).toEqual({ width: 800, height: 600 });
    expect(fitWithin(2048, 100)).toEqual({ width: 2048, height: 100 });
  });
  it("keeps extreme panoramas at least one pixel high", () => {
    expect(fitWithin(100000, 10)).toEqual({ width: 2048, height: 1 });
  });
});

describe("checkPhoto", () => {
  it("refuses HEIC with its own reason, and non-images", async () => {
    const heic = new Blob([bytes(0, 0, 0, 0x18, "ftypheic", 0, 0, 0, 0)]);
    await expect(checkPhoto(heic)).rejects.toEqual(new PhotoRefused("heic"));
    const pdf = new Blob([bytes("%PDF-1.7 hello")]);
    await expect(checkPhoto(pdf)).rejects.toMatchObject({ reason: "not_image" });
  });
  it("refuses oversized files before reading them", async () => {
    const big = { size: MAX_INPUT_BYTES + 1, slice: () => new Blob() } as unknown as Blob;
    await expect(checkPhoto(big)).rejects.toMatchObject({ reason: "too_large" });
  });
  it("accepts a JPEG", async () => {
    await expect(checkPhoto(new Blob([bytes(0xff, 0xd8, 0xff, 0xe0, 0, 0x10)]))).resolves.toBe("jpeg");
  });
});
