"use client";
/** Continue / Pause / Step over / Step into / Step out / Cancel, with VS Code's keys. */
import { useEffect, useRef } from "react";
import { isFinal } from "@/lib/client/run-state";
import type { JobStatus } from "@/lib/wire";

export type ToolbarAction = "continue" | "pause" | "step_over" | "step_into" | "step_out" | "cancel";

interface Button {
  action: ToolbarAction;
  label: string;
  icon: string;
  key: string;
  testId: string;
}

const BUTTONS: Button[] = [
  { action: "continue", label: "Continue", icon: "▶", key: "F5", testId: "debug-continue" },
  { action: "pause", label: "Pause", icon: "❚❚", key: "F6", testId: "debug-pause" },
  { action: "step_over", label: "Step over", icon: "↷", key: "F10", testId: "debug-step-over" },
  { action: "step_into", label: "Step into", icon: "↓", key: "F11", testId: "debug-step-into" },
  { action: "step_out", label: "Step out", icon: "↑", key: "Shift+F11", testId: "debug-step-out" },
  { action: "cancel", label: "Cancel", icon: "■", key: "", testId: "debug-cancel" },
];

/**
 * `stepEnded`: the user's last step ran the job to its end. Continue then stays enabled once, to
 * close the note that says so (the user asked to go on step by step; the job went on to its end).
 */
export function enabledActions(status: JobStatus | null, busy: boolean, stepEnded = false): Set<ToolbarAction> {
  const on = new Set<ToolbarAction>();
  if (busy || !status) return on;
  const final = isFinal(status);
  if (status === "paused") for (const a of ["continue", "step_over", "step_into", "step_out"] as const) on.add(a);
  if (final && stepEnded) on.add("continue");
  if (status === "running" || status === "pending") on.add("pause");
  if (!final) on.add("cancel");
  return on;
}

function keyAction(e: KeyboardEvent): ToolbarAction | null {
  if (e.key === "F5" && !e.shiftKey) return "continue";
  if (e.key === "F6") return "pause";
  if (e.key === "F10") return "step_over";
  if (e.key === "F11") return e.shiftKey ? "step_out" : "step_into";
  return null;
}

export function DebugToolbar({ status, busy, stepEnded = false, onAction }: { status: JobStatus | null; busy: boolean; stepEnded?: boolean; onAction(a: ToolbarAction): void }) {
  const enabled = enabledActions(status, busy, stepEnded);
  const latest = useRef({ enabled, onAction });
  latest.current = { enabled, onAction };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const a = keyAction(e);
      if (!a) return;
      // F5 would reload the page and F11 go full screen: the debugger owns these keys here.
      e.preventDefault();
      if (latest.current.enabled.has(a)) latest.current.onAction(a);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <div className="debug-toolbar" role="toolbar" aria-label="Debugger">
      {BUTTONS.map((b) => (
        <button
          key={b.action}
          type="button"
          className={`tool tool-${b.action}`}
          data-testid={b.testId}
          disabled={!enabled.has(b.action)}
          title={b.key ? `${b.label} (${b.key})` : b.label}
          aria-label={b.label}
          onClick={() => onAction(b.action)}
        >
          <span className="tool-icon">{b.icon}</span>
          <span className="tool-label">{b.label}</span>
        </button>
      ))}
    </div>
  );
}
