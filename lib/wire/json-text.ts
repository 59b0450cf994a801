// A JSON document carried as its text. `zerolb map` reads JSON Lines: parsing each line in the
// caller and encoding the object again as MessagePack costs more than the worker's JSON.parse of
// the same line (native, and the worker parses anyway: it must build the object for the handler).
// So the CLI hands each line over as a JsonText, which travels as the line's UTF-8 bytes under
// zerolb's extension type (kind 0x4A, "J") and arrives at the handler parsed. A line that is not
// JSON fails its own task with a JsonLinesError, which the CLI reports with its file and line.

/** The text of one JSON value, to be parsed where it is used (a worker). */
export class JsonText {
  constructor(readonly text: string) {}
}

/** The payload kind of a JsonText in zerolb's extension type: "J". */
export const JSON_TEXT_KIND = 0x4a;
