// The address this worker's TCP connection to the broker has on its own side ("10.0.0.5:43210"):
// what the broker would see as its peer's host and port without NAT in between. zeromq.js tells
// neither side a connection's addresses, so the worker finds its socket in Linux's /proc: its own
// file descriptors' socket inodes, matched against the established TCP connections to the broker's
// port. Elsewhere (or for ipc, or when it cannot tell which connection is the broker's), undefined.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The local "host:port" of this process's one established TCP connection to `endpoint`'s port. */
export function connectionAddress(endpoint: string): string | undefined {
  const port = /^tcp:\/\/.*:(\d+)$/.exec(endpoint)?.[1];
  if (port === undefined || process.platform !== "linux") return undefined;
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync("/proc/self/fd")) {
      try {
        const link = readlinkSync(`/proc/self/fd/${fd}`);
        if (link.startsWith("socket:[")) inodes.add(link.slice(8, -1));
      } catch {
        // an fd closed meanwhile
      }
    }
    const found: string[] = [];
    for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
      let text: string;
      try {
        text = readFileSync(table, "utf8");
      } catch {
        continue;
      }
      for (const line of text.split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        // sl local_address rem_address st … inode (field 9); st 01 = established
        if (f.length < 10 || f[3] !== "01" || !inodes.has(f[9]!)) continue;
        if (Number.parseInt(f[2]!.split(":")[1]!, 16) !== Number(port)) continue;
        found.push(hostPort(f[1]!));
      }
    }
    return found.length === 1 ? found[0] : undefined;
  } catch {
    return undefined;
  }
}

/** /proc's "0100007F:A8C2" (or its 32-hex-digit IPv6 form) as "127.0.0.1:43202". */
function hostPort(hex: string): string {
  const [addr, port] = hex.split(":") as [string, string];
  const p = Number.parseInt(port, 16);
  if (addr.length === 8) {
    const b = Buffer.from(addr, "hex").reverse(); // little-endian on x86 and arm64
    return `${b.join(".")}:${p}`;
  }
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) words.push(Buffer.from(addr.slice(i, i + 8), "hex").reverse().toString("hex"));
  const groups = words.join("").match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ""));
  const v4mapped = groups.slice(0, 5).every((g) => g === "0") && groups[5] === "ffff";
  if (v4mapped) return `${Number.parseInt(groups[6]!.slice(0, -2) || "0", 16)}.${Number.parseInt(groups[6]!.slice(-2), 16)}.${Number.parseInt(groups[7]!.slice(0, -2) || "0", 16)}.${Number.parseInt(groups[7]!.slice(-2), 16)}:${p}`;
  return `[${groups.join(":")}]:${p}`;
}
