// Photos are shrunk in the browser before upload: a 12 MP phone photo (4–8 MB) becomes a JPEG
// of at most 2048 px on its long side (a few hundred KB), which a 4G connection sends quickly.

export const MAX_SIDE = 2048;
export const JPEG_QUALITY = 0.85;
/** Larger originals are refused before decoding (a phone photo is far below this). */
export const MAX_INPUT_BYTES = 40 * 1024 * 1024;

export type ImageKind = "jpeg" | "png" | "webp" | "gif" | "heic" | "unknown";

/** What the first bytes of a file say it is; the file name and its declared type are not trusted. */
export function sniffKind(head: Uint8Array): ImageKind {
  const b = (i: number) => head[i] ?? -1;
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return "jpeg";
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return "png";
  const ascii = (from: number, to: number) =>
    String.fromCharCode(...Array.from(head.subarray(from, to)));
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  if (ascii(0, 4) === "GIF8") return "gif";
  if (ascii(4, 8) === "ftyp") {
    const brand = ascii(8, 12);
    if (["heic", "heix", "hevc", "heim", "heis", "mif1", "msf1", "avif"].includes(brand)) {
      return "heic";
    }
  }
  return "unknown";
}

/** The size that fits within `max` on the long side, keeping the aspect ratio; never enlarges. */
export function fitWithin(width: number, height: number, max = MAX_SIDE): { width: number; height: number } {
  const long = Math.max(width, height);
  if (long <= max) return { width, height };
  const scale = max / long;
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

/** Why a photo was refused; the page shows a message for each. */
export type PhotoError = "heic" | "not_image" | "too_large";

export class PhotoRefused extends Error {
  constructor(readonly reason: PhotoError) {
    super(reason);
  }
}

/** Checks a chosen file before any decoding. */
export async function checkPhoto(file: Blob): Promise<ImageKind> {
  if (file.size > MAX_INPUT_BYTES) throw new PhotoRefused("too_large");
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const kind = sniffKind(head);
  if (kind === "heic") throw new PhotoRefused("heic");
  if (kind === "unknown" || kind === "gif") throw new PhotoRefused("not_image");
  return kind;
}

/**
 * Decodes (turned upright by its EXIF orientation), scales to ≤ MAX_SIDE and re-encodes as JPEG.
 * Re-encoding also drops the EXIF block, position included; the server strips it again anyway.
 */
export async function compressPhoto(file: Blob, max = MAX_SIDE, quality = JPEG_QUALITY): Promise<Blob> {
  await checkPhoto(file);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    throw new PhotoRefused("not_image");
  }
  const { width, height } = fitWithin(bitmap.width, bitmap.height, max);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new PhotoRefused("not_image");
  // White under transparent PNG areas: JPEG has no alpha.
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  if (!blob) throw new PhotoRefused("not_image");
  return blob;
}
