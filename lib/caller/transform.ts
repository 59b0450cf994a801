// A Node Duplex stream over lb.map(): items written in, results read out, with backpressure both
// ways. The writable side hands items to the map only as fast as the map pulls them (at most
// `highWaterMark` in flight); the readable side stops reading results from the map while its
// consumer is not reading, which in turn stops the map from pulling more items.
import { Duplex } from "node:stream";
import { checkTransformOptions } from "./call-options.js";
import type { MapOptions } from "./call-options.js";
import type { Pipeline } from "./pipeline.js";

/**
 * Options of {@link createTransform}: those of `lb.map()` and stream buffer sizes.
 *
 * @typeParam Fn - the names `fn` may take (a typed LoadBalancer's handler names).
 * @typeParam Settled - the type of `settled`.
 * @typeParam P - the type of `pipeline`.
 */
export interface TransformOptions<Fn extends string = string, Settled extends boolean = boolean, P extends Pipeline<any> | undefined = Pipeline | undefined>
  extends MapOptions<Fn, Settled, P> {
  /**
   * Most items accepted by the writable side and not yet read from the readable side, not
   * counting the stream buffers below. The LoadBalancer's own `highWaterMark` also applies; the
   * smaller of the two wins.
   * @default the LoadBalancer's highWaterMark
   */
  highWaterMark?: number;
  /** Items the writable side buffers before `write()` returns false. @default 16 */
  writableHighWaterMark?: number;
  /** Results the readable side buffers before it stops reading from the map. @default 16 */
  readableHighWaterMark?: number;
}

/** The part of a LoadBalancer that {@link createTransform} uses: its `map()`. */
export interface MapSource {
  /** Runs every item through the handler (see `LoadBalancer.map`). */
  map(items: Iterable<unknown> | AsyncIterable<unknown>, options?: MapOptions): AsyncIterableIterator<unknown>;
}

/**
 * An object-mode `Duplex` that runs every item written to it through `lb.map()` and lets the
 * results be read (in input order unless `ordered: false`). Use it in `stream.pipeline()`:
 *
 * ```ts
 * import { pipeline } from "node:stream/promises";
 * await pipeline(Readable.from(records), createTransform(lb, { fn: "score" }), sink);
 * ```
 *
 * Backpressure both ways: a slow sink stops the map from pulling, and the writable side stops
 * accepting items (`write()` returns false, `pipeline` pauses the source) once `highWaterMark`
 * items are in flight. A failing task destroys the stream with its `TaskError` (unless
 * `settled: true`, which emits `{ index, id, ok, value | error }` rows instead). Destroying the
 * stream cancels the tasks not yet run. Streams cannot carry `null`: a handler result of `null`
 * destroys the stream with an `ERR_STREAM_NULL_VALUES` error (use `settled: true` to get it
 * wrapped in a row).
 */
export function createTransform(lb: MapSource, options?: TransformOptions): Duplex {
  return new MapTransform(lb, options);
}

class MapTransform extends Duplex {
  readonly #results: AsyncIterator<unknown>;
  readonly #limit: number;
  /** Items written and waiting for the map to pull them, with their write callbacks. */
  readonly #queue: { item: unknown; done: (err?: Error | null) => void }[] = [];
  #ended = false;
  /** The map is waiting for the next item. */
  #pull: ((r: IteratorResult<unknown>) => void) | undefined;
  /** Items the map pulled minus results pushed to the readable side. */
  #inFlight = 0;
  #reading = false;
  #wantMore = false;
  #started = false;

  constructor(lb: MapSource, options: TransformOptions | undefined) {
    const { highWaterMark, writableHighWaterMark, readableHighWaterMark } = checkTransformOptions(options);
    super({ objectMode: true, writableHighWaterMark, readableHighWaterMark, allowHalfOpen: true });
    const { highWaterMark: _h, writableHighWaterMark: _w, readableHighWaterMark: _r, ...mapOptions } = options ?? {};
    this.#limit = highWaterMark ?? Infinity;
    const source: AsyncIterable<unknown> = { [Symbol.asyncIterator]: () => ({ next: () => this.#nextItem() }) };
    this.#results = lb.map(source, mapOptions)[Symbol.asyncIterator]();
  }

  /** The map pulls the next item: it gets a written one as soon as there is one and room for it. */
  #nextItem(): Promise<IteratorResult<unknown>> {
    return new Promise((resolve) => {
      this.#pull = resolve;
      this.#feed();
    });
  }

  /** Hands a written item to a waiting pull if `highWaterMark` allows, or ends the source. */
  #feed(): void {
    const pull = this.#pull;
    if (!pull) return;
    if (this.destroyed) {
      this.#pull = undefined;
      pull({ done: true, value: undefined });
    } else if (this.#queue.length > 0 && this.#inFlight < this.#limit) {
      this.#pull = undefined;
      const entry = this.#queue.shift()!;
      this.#inFlight++;
      entry.done(); // the writable side may accept the next item
      pull({ done: false, value: entry.item });
    } else if (this.#queue.length === 0 && this.#ended) {
      this.#pull = undefined;
      pull({ done: true, value: undefined });
    }
  }

  override _write(item: unknown, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    // The callback runs when the map takes the item: until then the writable side buffers.
    this.#queue.push({ item, done: callback });
    this.#feed();
    // Like a Transform, start working before anyone reads (up to the readable buffer).
    if (!this.#started) this._read();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.#ended = true;
    this.#feed();
    callback();
  }

  override _read(): void {
    this.#started = true;
    this.#wantMore = true;
    if (!this.#reading) void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    this.#reading = true;
    try {
      while (this.#wantMore && !this.destroyed) {
        const r = await this.#results.next();
        if (this.destroyed) return;
        if (r.done) {
          this.push(null);
          return;
        }
        this.#inFlight--;
        this.#feed();
        if (r.value === null) {
          const err = new TypeError("a handler returned null, which a stream cannot carry; use settled: true or lb.map()");
          (err as TypeError & { code: string }).code = "ERR_STREAM_NULL_VALUES";
          this.destroy(err);
          return;
        }
        this.#wantMore = this.push(r.value);
      }
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.#reading = false;
    }
  }

  override _destroy(error: Error | null, callback: (err?: Error | null) => void): void {
    this.#ended = true;
    this.#queue.length = 0;
    this.#feed();
    // Cancel what the map still holds; its return() does not throw.
    Promise.resolve(this.#results.return?.()).then(
      () => callback(error),
      () => callback(error),
    );
  }
}
