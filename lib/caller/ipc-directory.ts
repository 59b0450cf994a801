// The LoadBalancer's private directory for its ipc socket files: short enough for sockaddr_un,
// made before the broker starts and removed (with the files libzmq leaves) when it closes.
import { mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StartupError } from "../shared/errors.js";

/** ipc socket paths longer than this many bytes cannot be bound or connected (sockaddr_un). */
export const IPC_PATH_LIMIT = 107;

/** The sockets a LoadBalancer's ipc directory holds. */
export const IPC_SOCKETS = ["frontend", "backend"] as const;
export type IpcSocket = (typeof IPC_SOCKETS)[number];

/** What mkdtemp appends to a prefix. */
const MKDTEMP_SUFFIX = "XXXXXX";

/** A fresh private directory (mode 0700) for this LoadBalancer's ipc socket files. */
export class IpcDirectory {
  readonly path: string;

  /**
   * Made in the first of `bases` (by default $TMPDIR, then /tmp, as documented) where it can be
   * and where its longest socket path fits in IPC_PATH_LIMIT bytes: the directory's own name
   * (zlb-<pid>-XXXXXX) and the longest socket name count. Throws a StartupError saying why each
   * was passed over (and creates nothing) when none will do.
   */
  constructor(bases: readonly string[] = [tmpdir(), "/tmp"]) {
    const prefix = `zlb-${process.pid}-`;
    const longestName = Math.max(...IPC_SOCKETS.map((name) => Buffer.byteLength(name)));
    const passedOver: string[] = [];
    for (const base of new Set(bases)) {
      const longest = Buffer.byteLength(join(base, prefix + MKDTEMP_SUFFIX)) + 1 + longestName;
      if (longest > IPC_PATH_LIMIT) {
        passedOver.push(`${base}: its socket paths would be ${longest} bytes`);
        continue;
      }
      try {
        this.path = mkdtempSync(join(base, prefix));
        return;
      } catch (err) {
        passedOver.push(`${base}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    throw new StartupError(
      `no directory for the ipc socket files (${passedOver.join("; ")}): ipc socket paths can be at most ${IPC_PATH_LIMIT} bytes; ` +
        "set TMPDIR to a short directory you can write to, such as /tmp",
    );
  }

  endpoint(name: IpcSocket): string {
    return `ipc://${join(this.path, name)}`;
  }

  /**
   * libzmq leaves ipc files behind on close; remove them and the directory. Its files have known
   * names, so they are unlinked one by one: no directory listing, which takes a file descriptor
   * (rmSync's does on Node 24), and a LoadBalancer whose constructor failed for want of
   * descriptors (EMFILE) must still leave nothing behind.
   */
  remove(): void {
    for (const name of IPC_SOCKETS) rmSync(join(this.path, name), { force: true });
    try {
      rmdirSync(this.path);
    } catch (err) {
      // Something else in it (not zerolb's): remove the lot, as before.
      if ((err as NodeJS.ErrnoException).code === "ENOTEMPTY") rmSync(this.path, { recursive: true, force: true });
      else if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}
