/**
 * Where the graph's viewport goes: the whole flow at first, a routine's node when the job stops
 * there or the user asks for it. Pure functions of the layout and the pane's size, so the rules
 * are tested without a browser.
 */

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Below this zoom a node's text is too small to read (12 px type becomes < 10 px). */
export const READABLE_ZOOM = 0.8;
/** The zoom a node is brought to when the view was below READABLE_ZOOM: its natural size. */
export const FOCUS_ZOOM = 1;
/** The whole flow: never closer than this (a 3-routine flow is not blown up to fill the screen). */
export const FIT_MAX_ZOOM = 1.2;
export const MIN_ZOOM = 0.05;
const FIT_PADDING = 0.15;

/** The smallest box holding every node; null when there are none. */
export function boundsOf(boxes: Iterable<Box>): Box | null {
  let x0 = Number.POSITIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  for (const b of boxes) {
    x0 = Math.min(x0, b.x);
    y0 = Math.min(y0, b.y);
    x1 = Math.max(x1, b.x + b.width);
    y1 = Math.max(y1, b.y + b.height);
  }
  return x0 <= x1 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/** The viewport showing all of `boxes` in a `width` × `height` pane, centred, with a margin. */
export function fitViewport(boxes: Iterable<Box>, width: number, height: number): Viewport {
  const b = boundsOf(boxes);
  if (!b || width <= 0 || height <= 0) return { x: 0, y: 0, zoom: 1 };
  const free = 1 - FIT_PADDING;
  const zoom = clamp(Math.min((width * free) / Math.max(b.width, 1), (height * free) / Math.max(b.height, 1)), MIN_ZOOM, FIT_MAX_ZOOM);
  return centred(b, width, height, zoom);
}

/** Whether all of `box` is inside the pane at viewport `vp`. */
export function isInView(vp: Viewport, box: Box, width: number, height: number): boolean {
  const left = box.x * vp.zoom + vp.x;
  const top = box.y * vp.zoom + vp.y;
  return left >= 0 && top >= 0 && left + box.width * vp.zoom <= width && top + box.height * vp.zoom <= height;
}

/**
 * Where to go to show `box`: `reveal` (the job stopped there) keeps the view when the node is
 * already in sight at a readable zoom — a debugger that jumps on every step is hard to follow —
 * and `zoom` (the user picked the node) always centres it. Either way the zoom becomes readable:
 * the user's own zoom when it already is, else FOCUS_ZOOM. Null: stay.
 */
export function focusViewport(vp: Viewport, box: Box, width: number, height: number, mode: "reveal" | "zoom"): Viewport | null {
  const readable = vp.zoom >= READABLE_ZOOM;
  if (mode === "reveal" && readable && isInView(vp, box, width, height)) return null;
  return centred(box, width, height, readable ? vp.zoom : FOCUS_ZOOM);
}

function centred(b: Box, width: number, height: number, zoom: number): Viewport {
  return { x: width / 2 - (b.x + b.width / 2) * zoom, y: height / 2 - (b.y + b.height / 2) * zoom, zoom };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
