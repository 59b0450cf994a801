// The crawler graph, in its own module so that `zerolb dot examples/pipeline/pipeline.js` can print it.
import { Pipeline } from "../../dist/index.js";

export const pipeline = new Pipeline({
  fetch: {},
  text: { after: ["fetch"] },
  links: { fn: "extractLinks", after: ["fetch"] },
  store: { after: ["text", "links"] },
});
export default pipeline;
