// CPU time and memory of a set of processes, read from /proc (Linux). Elsewhere only the current
// process is measured (through process.cpuUsage / resourceUsage) and children report null.
import { readFileSync } from "node:fs";

const TICK_MS = 10; // Linux USER_HZ is 100 on every mainstream kernel

/**
 * CPU ms (user + system) in a /proc stat file: `/proc/<pid>/stat` for a process (all its threads),
 * `/proc/<pid>/task/<tid>/stat` for one thread.
 */
export function statCpuMs(path) {
  const stat = readFileSync(path, "utf8");
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
}

/** Voluntary context switches (sleeps) in a /proc status file (`/proc/<pid>/status`: the main thread). */
export function voluntarySwitches(path) {
  return Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(path, "utf8"))[1]);
}

function readProc(pid) {
  try {
    const cpuMs = statCpuMs(`/proc/${pid}/stat`);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
    return { cpuMs, rssKiB: kib("VmRSS"), hwmKiB: kib("VmHWM") };
  } catch {
    return null;
  }
}

function self() {
  const u = process.cpuUsage();
  const r = process.resourceUsage();
  return { cpuMs: (u.user + u.system) / 1000, rssKiB: Math.round(process.memoryUsage().rss / 1024), hwmKiB: r.maxRSS };
}

/**
 * One sample: { role: { cpuMs, rssKiB, hwmKiB, processes } } for `caller` (this process) and each
 * role of `processes` ([{ role, pid }]).
 */
export function sample(processes = []) {
  const out = { caller: { ...self(), processes: 1 } };
  for (const { role, pid } of processes) {
    const p = readProc(pid);
    if (!p) continue;
    const acc = (out[role] ??= { cpuMs: 0, rssKiB: 0, hwmKiB: 0, processes: 0 });
    acc.cpuMs += p.cpuMs;
    acc.rssKiB += p.rssKiB;
    acc.hwmKiB += p.hwmKiB;
    acc.processes++;
  }
  return out;
}

/** CPU ms spent per role between two samples, plus the later sample's memory. */
export function delta(before, after) {
  const out = {};
  let cpuMs = 0;
  let hwmKiB = 0;
  for (const [role, a] of Object.entries(after)) {
    const b = before[role];
    const d = { cpuMs: round(a.cpuMs - (b?.cpuMs ?? 0)), rssKiB: a.rssKiB, hwmKiB: a.hwmKiB, processes: a.processes };
    out[role] = d;
    cpuMs += d.cpuMs;
    hwmKiB += a.hwmKiB;
  }
  out.total = { cpuMs: round(cpuMs), hwmKiB };
  return out;
}

function round(x) {
  return Math.round(x * 10) / 10;
}
