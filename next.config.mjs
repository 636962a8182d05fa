/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  // Type checking is `npm run typecheck` (TypeScript 7's native compiler); Next's built-in
  // check expects the TypeScript 5 JavaScript API, which TypeScript 7 does not ship.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  // A native addon: loaded by Node at run time, never bundled.
  serverExternalPackages: ["better-sqlite3"],
};

export default nextConfig;
