"use client";
/**
 * Find a routine by id or type: Ctrl+K (⌘K) or `/` focuses the box, the matches list below it,
 * Enter or a click takes the graph to that node, Escape closes the list.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { searchRoutines } from "@/lib/client/search";
import type { RoutineInfo } from "@/lib/wire";

/** Typing there must not open the search (a `/` in a JSON value, a condition). */
function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT";
}

export function RoutineSearch({ routines, onPick }: { routines: Record<string, RoutineInfo> | undefined; onPick(routineId: string): void }) {
  const input = useRef<HTMLInputElement>(null);
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const matches = useMemo(() => (routines ? searchRoutines(routines, query) : []), [routines, query]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const ctrlK = (e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k";
      const slash = e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !isEditable(e.target);
      if (!ctrlK && !slash) return;
      e.preventDefault();
      input.current?.focus();
      input.current?.select();
      setOpen(true);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const close = () => {
    setOpen(false);
    setQuery("");
    setActive(0);
    input.current?.blur();
  };
  const pick = (routineId: string) => {
    close();
    onPick(routineId);
  };

  return (
    <div className="routine-search">
      <input
        ref={input}
        type="search"
        className="routine-search-input"
        data-testid="routine-search"
        placeholder="Find routine… (Ctrl+K)"
        aria-label="Find a routine by id or type"
        autoComplete="off"
        spellCheck={false}
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.preventDefault();
            close();
          } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            const n = matches.length;
            if (n) setActive((a) => (a + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
          } else if (e.key === "Enter") {
            e.preventDefault();
            const m = matches[Math.min(active, matches.length - 1)];
            if (m) pick(m.routineId);
          }
        }}
      />
      {open && query.trim() !== "" && (
        <ul className="routine-search-results" data-testid="routine-search-results">
          {matches.length === 0 && <li className="muted small none">No routine has “{query.trim()}” in its id or type</li>}
          {matches.map((m, i) => (
            <li key={m.routineId}>
              <button
                type="button"
                className={i === active ? "active" : ""}
                aria-current={i === active}
                data-testid="routine-search-result"
                data-routine-id={m.routineId}
                // Keeps the focus in the box, so its blur does not close the list before the click lands.
                onMouseDown={(e) => e.preventDefault()}
                onMouseEnter={() => setActive(i)}
                onClick={() => pick(m.routineId)}
              >
                <span className="mono">{m.routineId}</span>
                <span className="muted small">{m.type}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
