/**
 * Watches a project's source files with `node:fs` `watch`: one non-recursive watcher per folder,
 * skipping node_modules, dist and dot-folders (.git, .routilux, ...). Node 20's recursive mode on
 * Linux walks and watches every subfolder itself, node_modules included — thousands of inotify
 * watches for a folder nobody edits — so the walk is done here, where it can skip them. Folders
 * created later are watched as they appear.
 */
import { type Dirent, type FSWatcher, readdirSync, statSync, watch } from "node:fs";
import { basename, extname, join } from "node:path";

/** Folders never watched (besides every folder whose name starts with a dot). */
export const IGNORED_DIRS: ReadonlySet<string> = new Set(["node_modules", "dist"]);
/** What a project's code is made of: modules and DSL files. */
export const WATCHED_EXTENSIONS: ReadonlySet<string> = new Set([".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".json", ".yaml", ".yml"]);

export interface ProjectWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last change before `onChange` runs (an editor's save is often several writes). */
  debounceMs?: number;
}

/**
 * Calls `onChange(files)` once changes settle. Never two at once: changes made while it runs
 * make it run again afterwards.
 */
export function watchProject(root: string, onChange: (files: string[]) => Promise<void>, options: WatchOptions = {}): ProjectWatcher {
  const debounceMs = options.debounceMs ?? 100;
  const watchers = new Map<string, FSWatcher>();
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let closed = false;

  const skipDir = (name: string) => name.startsWith(".") || IGNORED_DIRS.has(name);
  const isSource = (name: string) => !name.startsWith(".") && WATCHED_EXTENSIONS.has(extname(name));

  const schedule = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(fire, debounceMs);
  };

  const fire = (): void => {
    timer = null;
    if (running || closed || pending.size === 0) return;
    running = true;
    const files = [...pending];
    pending.clear();
    onChange(files)
      .catch((err: unknown) => console.error(`[routilux] ${(err as Error).message}`))
      .finally(() => {
        running = false;
        if (pending.size > 0) schedule();
      });
  };

  const unwatch = (dir: string): void => {
    for (const [path, w] of watchers) {
      if (path === dir || path.startsWith(`${dir}/`)) {
        w.close();
        watchers.delete(path);
      }
    }
  };

  const addDir = (dir: string): void => {
    if (closed || watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: true }, (_event, filename) => changed(dir, filename === null ? null : String(filename)));
    } catch {
      return; // gone already, or not readable
    }
    w.on("error", () => unwatch(dir));
    watchers.set(dir, w);
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory() && !skipDir(e.name)) addDir(join(dir, e.name));
  };

  const changed = (dir: string, filename: string | null): void => {
    if (closed) return;
    if (filename === null) {
      pending.add(dir);
      schedule();
      return;
    }
    const path = join(dir, filename);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // removed: a removed folder's watcher goes; a removed file is a change
      if (watchers.has(path)) {
        unwatch(path);
        pending.add(path);
        schedule();
        return;
      }
    }
    if (isDir) {
      if (skipDir(basename(path))) return;
      if (!watchers.has(path)) {
        addDir(path);
        pending.add(path); // it may already hold modules (a folder moved in)
        schedule();
      }
      return;
    }
    if (!isSource(filename)) return;
    pending.add(path);
    schedule();
  };

  addDir(root);
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
