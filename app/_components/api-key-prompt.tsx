"use client";
/**
 * When the server runs with ROUTILUX_API_KEY, the first refused request opens this prompt; the
 * key is kept in this browser and the page reloads so every query and the live socket use it.
 */
import { useEffect, useState } from "react";
import { AUTH_REQUIRED_EVENT, getApiKey, setApiKey } from "@/lib/client/api";

export function ApiKeyPrompt() {
  const [status, setStatus] = useState<number | null>(null);
  const [key, setKey] = useState("");
  useEffect(() => {
    const onRefused = (e: Event) => setStatus((e as CustomEvent<{ status: number }>).detail.status);
    window.addEventListener(AUTH_REQUIRED_EVENT, onRefused);
    return () => window.removeEventListener(AUTH_REQUIRED_EVENT, onRefused);
  }, []);
  if (status === null) return null;
  return (
    <div className="modal-backdrop">
      <form
        className="popover modal"
        role="dialog"
        aria-label="API key"
        data-testid="api-key-prompt"
        onSubmit={(e) => {
          e.preventDefault();
          setApiKey(key.trim() || null);
          window.location.reload();
        }}
      >
        <strong>This server needs an API key</strong>
        <p className="muted small">
          {status === 403 && getApiKey() ? "The key this browser sent was refused." : "It runs with ROUTILUX_API_KEY."} The key is kept in this browser only.
        </p>
        <input data-testid="api-key-input" type="password" value={key} onChange={(e) => setKey(e.target.value)} placeholder="API key" />
        <div className="popover-actions">
          <button type="submit" className="primary" data-testid="api-key-save" disabled={!key.trim()}>
            Use this key
          </button>
        </div>
      </form>
    </div>
  );
}
