import { defineConfig } from "vitest/config";

// Playwright specs live in e2e/ and must never be collected by vitest.
export default defineConfig({
  test: {
    include: ["tests/unit/**/*.test.ts", "tests/integration/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
