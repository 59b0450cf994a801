// Socket options and endpoints in one place (see ../shared/notes/zeromq-js.md for the reasons):
// what every process sets on its ZeroMQ sockets, and how a remote endpoint is parsed.

/** libzmq draft option ZMQ_ROUTER_NOTIFY and its value for "tell me about new connections". */
export const ZMQ_ROUTER_NOTIFY = 97;
export const NOTIFY_CONNECT = 1;
/**
 * libzmq draft option ZMQ_DISCONNECT_MSG: a ROUTER delivers this message from a peer whose
 * connection ended. Apart from ROUTER_NOTIFY's connect message ([id, <empty>]), so that a connect
 * and a disconnect can be told apart: with `handover`, a reconnecting peer's new connection takes
 * over its routing id, and the old one ends without a message.
 */
export const ZMQ_DISCONNECT_MSG = 111;
/** The disconnect message: never a protocol header (those are MessagePack maps, never 0x00 first). */
export const DISCONNECTED = "\u0000gone";

/**
 * ROUTER: `mandatory` so a send to a vanished peer fails instead of vanishing; no high-water mark
 * (credits bound memory, and a ROUTER at its HWM drops silently); `sendTimeout: 0` so one slow
 * peer cannot block the socket's only writer; `linger: 0` so exit never waits on a dead peer;
 * `handover` so that a peer which reconnects under its routing id (after a freeze of either side,
 * or a network partition) takes over at once: without it the new connection is ignored for as
 * long as the broker still holds the old one, which after a freeze can be for ever.
 */
export function routerOptions() {
  return { mandatory: true, handover: true, sendHighWaterMark: 0, receiveHighWaterMark: 0, sendTimeout: 0, linger: 0 } as const;
}

/** DEALER: no high-water mark (credits bound memory) and no linger at exit. */
export function dealerOptions() {
  return { sendHighWaterMark: 0, receiveHighWaterMark: 0, linger: 0 } as const;
}

/**
 * A local (ipc) connection is made before the broker has bound its socket, and ZeroMQ retries
 * only every 100 ms by default: retry every 5 ms instead, backing off to no more than every 10 ms.
 * The caller connects as soon as it has spawned the broker, which binds some 180 ms later: with
 * ZeroMQ's doubling up to 100 ms the caller's connection came up to 100 ms after the bind (first
 * result 278 ms after the constructor, median of 7; 214 ms with 10). A failed connect() to an ipc
 * path that does not exist yet is one cheap system call, so 100 a second cost nothing worth saving.
 */
export const LOCAL_RECONNECT = { reconnectInterval: 5, reconnectMaxInterval: 10 } as const;

/** Default bound on one message from a remote peer (the `maxMessageSize` option), bytes. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
/**
 * Messages a remote peer may have queued at the broker before ZeroMQ stops reading from its
 * connection (TCP then holds the peer back): with `maxMessageSize`, what one remote connection can
 * make the broker hold is at most this many messages of that size. A worker's results leave in
 * messages of at most 256 KiB (or one larger result), which the broker reads as they come.
 */
export const REMOTE_RECEIVE_HWM = 4;
/**
 * A remote connection that has not completed its ZMTP handshake (and, with Curve, its key check)
 * within this time is closed, and counted in `refusedHandshakes`: a peer that connects and says
 * nothing holds no socket for long.
 */
export const REMOTE_HANDSHAKE_MS = 10_000;

/** A remote `endpoint` taken apart: `tcp://host:port` (port 0 or * = any free port) or `ipc://path`. */
export interface ParsedEndpoint {
  transport: "tcp" | "ipc";
  /** tcp: host as written (brackets removed for IPv6). */
  host: string;
  port: number | undefined;
  ipv6: boolean;
  /** Reachable from this machine only (loopback address, or ipc). */
  loopback: boolean;
}

/** Parses an endpoint for workers; undefined when it is not one zerolb can bind. */
export function parseEndpoint(endpoint: string): ParsedEndpoint | undefined {
  if (endpoint.startsWith("ipc://") && endpoint.length > "ipc://".length) {
    return { transport: "ipc", host: "", port: undefined, ipv6: false, loopback: true };
  }
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:\/\[\]]+):(\*|\d{1,5})$/.exec(endpoint);
  if (!m) return undefined;
  const ipv6 = m[1]!.startsWith("[");
  const host = ipv6 ? m[1]!.slice(1, -1) : m[1]!;
  const port = m[2] === "*" ? 0 : Number(m[2]);
  if (port > 65535) return undefined;
  return { transport: "tcp", host, port, ipv6, loopback: isLoopbackHost(host) };
}

/** 127.0.0.0/8, ::1 and localhost. Everything else (0.0.0.0, *, interface names, names) is not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The endpoint as libzmq binds it: port 0 becomes `*` (any free port). */
export function bindAddress(endpoint: string): string {
  return endpoint.replace(/:0$/, ":*");
}

export interface CurveServerKeys {
  publicKey: string;
  secretKey: string;
  allow?: string[];
}

/**
 * The broker's ROUTER for remote workers: the ROUTER options above, ZMTP heartbeats, a bound on
 * what one peer can make the broker allocate (one message, and messages queued per peer), and,
 * with Curve, the server keys and the ZAP domain, failing closed (`zapEnforceDomain`).
 */
export function remoteRouterOptions(o: {
  heartbeatInterval: number; heartbeatTimeout: number; maxMessageSize: number; ipv6: boolean; curve: CurveServerKeys | undefined; zapDomain: string;
}) {
  return {
    ...routerOptions(),
    receiveHighWaterMark: REMOTE_RECEIVE_HWM,
    handshakeInterval: REMOTE_HANDSHAKE_MS,
    heartbeatInterval: o.heartbeatInterval,
    heartbeatTimeout: o.heartbeatTimeout,
    maxMessageSize: o.maxMessageSize,
    ...(o.ipv6 ? { ipv6: true } : {}),
    ...(o.curve ? { curveServer: true, curveSecretKey: o.curve.secretKey, zapDomain: o.zapDomain, zapEnforceDomain: true } : {}),
  };
}

/** Curve keys of a worker: the broker's public key and the worker's own pair. */
export interface CurveClientKeys {
  serverKey: string;
  publicKey: string;
  secretKey: string;
}

/** Worker DEALER options beyond dealerOptions(): Curve client keys and reconnect backoff. */
export function workerDealerOptions(o: { curve?: CurveClientKeys; reconnectMaxInterval?: number; ipv6?: boolean }) {
  return {
    ...(o.curve ? { curveServerKey: o.curve.serverKey, curvePublicKey: o.curve.publicKey, curveSecretKey: o.curve.secretKey } : {}),
    ...(o.reconnectMaxInterval ? { reconnectInterval: 100, reconnectMaxInterval: o.reconnectMaxInterval } : {}),
    ...(o.ipv6 ? { ipv6: true } : {}),
  };
}
