import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";
import { fileURLToPath } from "node:url";

// Built into web/dist/report (committed) and served by whistle-api under /report.
export default defineConfig({
  base: "/report/",
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL("../dist/report", import.meta.url)),
    emptyOutDir: true,
    target: "es2019",
    // One file per chunk, stable names: CI rebuilds and compares with the committed files.
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080" },
  },
});
