// The broker's endpoint for remote workers: a ROUTER on tcp (or ipc), in plain text on loopback or
// with CurveZMQ and a ZAP allow-list. Set up here, apart from the broker's message handling; the
// broker then reads and writes this socket like its local one.
import type * as zmq from "zeromq";
import { NOTIFY_CONNECTIONS, NotifyingRouter } from "./backend.js";
import { logger } from "../shared/debug.js";
import { bindAddress, parseEndpoint, remoteRouterOptions } from "../wire/transport.js";
import { ZAP_DOMAIN, ZapHandler } from "./zap.js";
import type { RemoteConfig } from "../wire/child-messages.js";

const log = logger("broker");

export interface RemoteEndpoint {
  socket: zmq.Router;
  /** The ZAP handler (with Curve): close it with the socket. */
  zap: ZapHandler | undefined;
  /** The endpoint actually bound (port resolved). */
  endpoint: string;
}

export interface RemoteEndpointHooks {
  /** Called with the socket before it binds (socket options that must hold for every connection). */
  beforeBind(socket: zmq.Router): void;
  /**
   * Called for every failed handshake (ZAP refusal, plain text against Curve, a wrong server key, a
   * peer that does not speak ZMTP as a worker should); none affects the other connections.
   */
  onRefusedHandshake(): void;
}

/**
 * Binds the ROUTER for remote workers; with Curve, the ZAP handler is bound first (libzmq requires
 * it). If binding fails, what was set up is closed again.
 */
export async function bindRemoteEndpoint(
  remote: RemoteConfig,
  heartbeat: { heartbeatInterval: number; heartbeatTimeout: number },
  hooks: RemoteEndpointHooks,
): Promise<RemoteEndpoint> {
  const parsed = parseEndpoint(remote.endpoint);
  if (!parsed) throw new TypeError(`cannot bind ${JSON.stringify(remote.endpoint)}: not a tcp:// or ipc:// endpoint`);
  let zap: ZapHandler | undefined;
  if (remote.curve) {
    zap = new ZapHandler(remote.curve.allow, (d) => {
      if (!d.allowed) log("refused a worker from %s: %s%s", d.address, d.reason, d.key ? ` (public key ${d.key})` : "");
      else log("admitted a worker from %s (public key %s)", d.address, d.key);
    });
    await zap.start();
  }
  const socket = new NotifyingRouter({ ...NOTIFY_CONNECTIONS, ...remoteRouterOptions({
    heartbeatInterval: heartbeat.heartbeatInterval, heartbeatTimeout: heartbeat.heartbeatTimeout,
    maxMessageSize: remote.maxMessageSize, ipv6: parsed.ipv6, curve: remote.curve, zapDomain: ZAP_DOMAIN,
  }) });
  for (const type of ["handshake:error:auth", "handshake:error:protocol", "handshake:error:other"] as const) {
    socket.events.on(type, (event) => {
      log("refused a remote handshake (%s): %s", type.slice("handshake:error:".length), describeEventError(event));
      hooks.onRefusedHandshake();
    });
  }
  hooks.beforeBind(socket);
  try {
    await socket.bind(bindAddress(remote.endpoint));
  } catch (err) {
    socket.close();
    zap?.close();
    throw err;
  }
  const endpoint = socket.lastEndpoint ?? remote.endpoint;
  log("bound remote endpoint %s (%s)", endpoint, remote.curve ? `CurveZMQ${remote.curve.allow ? `, ${remote.curve.allow.length} allowed keys` : ", any key"}` : "plain text");
  if (!remote.curve && !parsed.loopback) {
    console.warn(`zerolb: warning: remote endpoint ${endpoint} accepts workers in plain text (insecure: true): anyone who reaches it can join and read tasks`);
  }
  return { socket, zap, endpoint };
}

function describeEventError(event: { address?: string; error?: Error & { code?: unknown } }): string {
  const what = event.error ? `${String(event.error.code ?? "")} ${event.error.message}`.trim() : "unknown";
  return event.address ? `${what} (on ${event.address})` : what;
}
