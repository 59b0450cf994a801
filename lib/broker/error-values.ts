// Error values the broker makes itself (a timeout it declared, a death it counted, a dependency
// that failed): MessagePack error values as a worker would send, from which the caller rebuilds the
// class by `name` and the status.
import { encodeValue } from "../wire/codec.js";
import { serializeError } from "../wire/error-wire.js";

export function errorInfo(name: string, message: string, extra: Record<string, unknown> = {}): Uint8Array {
  return encodeValue({ ...serializeError(new Error(message)), name, ...extra });
}
