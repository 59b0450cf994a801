// The broker's ZAP handler (ZeroMQ RFC 27): libzmq asks it, during each CurveZMQ handshake on the
// remote endpoint, whether the client's public key may connect. It must be bound in the same
// context as the curve socket BEFORE that socket binds; the socket also sets `zapEnforceDomain`, so
// that a missing handler refuses everyone instead of admitting everyone.
import * as zmq from "zeromq";
import { logger } from "../shared/debug.js";
import { z85Encode } from "../wire/z85.js";

const log = logger("broker");

export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
/** The ZAP domain of the remote endpoint (the `zapDomain` socket option). */
export const ZAP_DOMAIN = "zerolb";

export interface ZapDecision {
  /** The client's public key (Z85), when it presented one. */
  key: string | undefined;
  address: string;
  allowed: boolean;
  reason: string;
}

/**
 * Admits CURVE clients whose public key is in `allow` (any key when `allow` is undefined: the
 * client still had to know the server's public key). Every other request is refused.
 */
export class ZapHandler {
  readonly #socket = new zmq.Router({ linger: 0 });
  readonly #allow: Set<string> | undefined;
  readonly #onDecision: (decision: ZapDecision) => void;
  admitted = 0;
  refused = 0;

  constructor(allow: readonly string[] | undefined, onDecision: (decision: ZapDecision) => void = () => {}) {
    this.#allow = allow ? new Set(allow) : undefined;
    this.#onDecision = onDecision;
  }

  async start(): Promise<void> {
    await this.#socket.bind(ZAP_ENDPOINT);
    void this.#loop();
  }

  close(): void {
    this.#socket.close();
  }

  async #loop(): Promise<void> {
    for await (const frames of this.#socket) {
      try {
        const reply = this.#answer(frames);
        if (reply) await this.#socket.send(reply);
      } catch (err) {
        log("ZAP request not answered: %s", (err as Error).message);
      }
    }
  }

  /**
   * Request: [routing id…, "", "1.0", request id, domain, address, identity, mechanism, credentials…].
   * Reply:   [routing id…, "", "1.0", request id, status code, status text, user id, metadata].
   */
  #answer(frames: Buffer[]): (Buffer | string)[] | undefined {
    const delimiter = frames.findIndex((f) => f.length === 0);
    if (delimiter < 1 || frames.length < delimiter + 7) return undefined;
    const envelope = frames.slice(0, delimiter);
    const [version, requestId, domain, address, , mechanism, credential] = frames.slice(delimiter + 1);
    const reply = (status: string, text: string, userId = "") => [...envelope, "", "1.0", requestId!, status, text, userId, ""];
    if (version!.toString() !== "1.0") return reply("500", "unsupported ZAP version");
    const decision: ZapDecision = { key: undefined, address: address!.toString(), allowed: false, reason: "" };
    if (domain!.toString() !== ZAP_DOMAIN) decision.reason = `unknown ZAP domain "${domain!.toString()}"`;
    else if (mechanism!.toString() !== "CURVE") decision.reason = `mechanism ${mechanism!.toString()} is not CURVE`;
    else if (credential === undefined || credential.length !== 32) decision.reason = "no CURVE public key";
    else {
      decision.key = z85Encode(credential);
      decision.allowed = this.#allow === undefined || this.#allow.has(decision.key);
      decision.reason = decision.allowed ? "OK" : "public key not in the allow-list";
    }
    if (decision.allowed) this.admitted++;
    else this.refused++;
    this.#onDecision(decision);
    return decision.allowed ? reply("200", "OK", decision.key) : reply("400", decision.reason);
  }
}
