import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { ApiKeyPrompt } from "./_components/api-key-prompt";
import { ServerHealth } from "./_components/server-health";
import { Providers } from "./providers";
import "./globals.css";

export const metadata: Metadata = {
  title: "Routilux",
  description: "Event-driven workflows with monitoring and a visual debugger",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <Link href="/" className="brand">
            ◆ Routilux
          </Link>
          <nav>
            <Link href="/">Flows</Link>
            <Link href="/jobs">Jobs</Link>
            <a href="/api/openapi.json">API</a>
          </nav>
        </header>
        <Providers>
          {children}
          <ServerHealth />
        </Providers>
        <ApiKeyPrompt />
      </body>
    </html>
  );
}
