"use client";
/** A floating panel over the graph with a title and a close button (breakpoint editor, Run panel). */
import type { ReactNode } from "react";

export function Popover({ title, label, testId, className, onClose, children }: { title: ReactNode; label: string; testId: string; className?: string; onClose(): void; children: ReactNode }) {
  return (
    <div className={`popover${className ? ` ${className}` : ""}`} role="dialog" aria-label={label} data-testid={testId}>
      <div className="popover-head">
        <strong>{title}</strong>
        <button type="button" className="icon" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      {children}
    </div>
  );
}
