// Socket options and endpoints in one place (see ../shared/notes/zeromq-js.md for the reasons).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** libzmq draft option ZMQ_ROUTER_NOTIFY and its value for "tell me about connects and disconnects". */
export const ZMQ_ROUTER_NOTIFY = 97;
export const NOTIFY_CONNECT_DISCONNECT = 3;

/**
 * ROUTER: `mandatory` so a send to a vanished peer fails instead of vanishing; no high-water mark
 * (credits bound memory, and a ROUTER at its HWM drops silently); `sendTimeout: 0` so one slow
 * peer cannot block the socket's only writer; `linger: 0` so exit never waits on a dead peer.
 */
export function routerOptions() {
  return { mandatory: true, sendHighWaterMark: 0, receiveHighWaterMark: 0, sendTimeout: 0, linger: 0 } as const;
}

/** DEALER: no high-water mark (credits bound memory) and no linger at exit. */
export function dealerOptions() {
  return { sendHighWaterMark: 0, receiveHighWaterMark: 0, linger: 0 } as const;
}

// ipc paths longer than 107 bytes cannot be bound, so keep the directory short.
const IPC_PATH_LIMIT = 107;

/** A fresh private directory (mode 0700) for this LoadBalancer's ipc socket files. */
export class IpcDirectory {
  readonly path: string;

  constructor() {
    let base = tmpdir();
    if (join(base, "zlb-XXXXXX", "backend").length > IPC_PATH_LIMIT) base = "/tmp";
    this.path = mkdtempSync(join(base, `zlb-${process.pid}-`));
  }

  endpoint(name: string): string {
    return `ipc://${join(this.path, name)}`;
  }

  /** libzmq leaves ipc files behind on close; remove them and the directory. */
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
