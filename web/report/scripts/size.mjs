// The page's weight as a phone downloads it: JS and CSS gzipped (level 9), first the files
// index.html loads, then the map chunk loaded right after it. Budget: ≤ 150 KB in all.
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const dist = new URL("../../dist/report/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");
const first = new Set([...html.matchAll(/\/report\/(assets\/[^"]+\.(?:js|css))/g)].map((m) => m[1]));
const kb = (n) => (n / 1024).toFixed(1);
let total = 0;
let initial = 0;
for (const f of readdirSync(join(dist, "assets")).sort()) {
  if (!/\.(js|css)$/.test(f)) continue;
  const gz = gzipSync(readFileSync(join(dist, "assets", f)), { level: 9 }).length;
  const isFirst = first.has(`assets/${f}`);
  total += gz;
  if (isFirst) initial += gz;
  console.log(`${isFirst ? "first" : "later"}  ${kb(gz).padStart(6)} KB  ${f}`);
}
console.log(`first load ${kb(initial)} KB gzip; with the map ${kb(total)} KB (budget 150 KB)`);
if (total > 150 * 1024) {
  console.error("over budget");
  process.exit(1);
}
