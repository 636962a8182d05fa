import WebSocket from "ws";

export interface Msg {
  type: string;
  [key: string]: unknown;
}

export interface Ev extends Msg {
  seq: number;
  job_id: string;
  event_type: string;
}

export const isEvent = (m: Msg): m is Ev => typeof m.seq === "number" && typeof m.event_type === "string";
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every client made by `Client.connect` (tests terminate them when done). */
export const clients: Client[] = [];

/** A real `ws` client that records every message and how the socket closed. */
export class Client {
  readonly messages: Msg[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 1;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.messages.push(JSON.parse(String(data)) as Msg);
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on("error", () => {});
  }

  static connect(base: string, path: string, options?: WebSocket.ClientOptions): Client {
    const client = new Client(new WebSocket(`${base}${path}`, options));
    clients.push(client);
    return client;
  }

  get events(): Ev[] {
    return this.messages.filter(isEvent);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** The first message (from index `from`) matching `pred`, waiting up to `timeoutMs`. */
  async waitFor(pred: (m: Msg) => boolean, timeoutMs = 10_000, from = 0): Promise<Msg> {
    const start = Date.now();
    for (;;) {
      const found = this.messages.slice(from).find(pred);
      if (found) return found;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${this.messages.length} messages, the last: ${JSON.stringify(this.messages.slice(-10).map((m) => m.type))}`);
      await sleep(10);
    }
  }

  waitForEvent(type: string, from = 0): Promise<Msg> {
    return this.waitFor((m) => isEvent(m) && m.event_type === type, 10_000, from);
  }

  /** Sends a debug command and resolves with its reply (`command_result` or `error`). */
  async command(command: string, args: Record<string, unknown> = {}): Promise<Msg> {
    const id = `c${this.nextId++}`;
    if (this.ws.readyState === WebSocket.CONNECTING) await new Promise((r) => this.ws.once("open", r));
    this.ws.send(JSON.stringify({ command, id, ...args }));
    return this.waitFor((m) => (m.type === "command_result" || m.type === "error") && m.id === id);
  }
}

