/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The Rust server (`chat serve`) listens on 9010 by default; in development Vite serves the UI on
// 5173 and forwards the API and the WebSocket to it, so the browser sees a single origin and the
// HttpOnly session cookie works exactly as in production.
const backend = process.env.CHAT_DEV_BACKEND ?? "http://localhost:9010";

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: backend },
      "/ws": { target: backend, ws: true },
      "/healthz": { target: backend },
    },
  },
  build: {
    outDir: "dist",
    sourcemap: true,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
