// The console's weight over the network: JS and CSS gzipped (level 9). An officer's first load
// is the login page and the queue: index.html's files, the three pages' chunks (login, frame,
// queue) and everything they import, scripts and style sheets. Budget: ≤ 400 KB.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const dist = new URL("../../dist/console/", import.meta.url).pathname;
const assets = join(dist, "assets");
const html = readFileSync(join(dist, "index.html"), "utf8");
const files = readdirSync(assets).filter((f) => /\.(js|css)$/.test(f));
const start = [
  ...[...html.matchAll(/\/console\/assets\/([^"]+\.(?:js|css))/g)].map((m) => m[1]),
  ...files.filter((f) => /^(LoginPage|ShellLayout|QueuePage)-.*\.js$/.test(f)),
];

/** A chunk's static imports and the style sheets Vite loads with it. */
function deps(f) {
  if (!f.endsWith(".js")) return [];
  const src = readFileSync(join(assets, f), "utf8");
  const found = [
    ...[...src.matchAll(/(?:from|import)\s*["']\.\/([^"']+\.js)["']/g)].map((m) => m[1]),
    ...[...src.matchAll(/["']assets\/([^"']+\.css)["']/g)].map((m) => m[1]),
  ];
  return found.filter((d) => existsSync(join(assets, d)));
}

const first = new Set();
const todo = [...start];
while (todo.length) {
  const f = todo.pop();
  if (first.has(f)) continue;
  first.add(f);
  todo.push(...deps(f));
}
const kb = (n) => (n / 1024).toFixed(1);
let initial = 0;
let total = 0;
for (const f of files.sort()) {
  const gz = gzipSync(readFileSync(join(assets, f)), { level: 9 }).length;
  total += gz;
  if (first.has(f)) initial += gz;
  console.log(`${first.has(f) ? "first" : "later"}  ${kb(gz).padStart(6)} KB  ${f}`);
}
console.log(`login + queue ${kb(initial)} KB gzip; everything ${kb(total)} KB (budget for login + queue: 400 KB)`);
if (initial > 400 * 1024) {
  console.error("over budget");
  process.exit(1);
}
