// An ETL step for `zerolb map`: validates and normalizes one order record per call.
// Throwing marks the record as failed (with --settled it becomes an error row; without, the run
// stops and names the line).

export default function clean(order) {
  if (typeof order !== "object" || order === null) throw new TypeError("an order must be an object");
  if (!order.id) throw Object.assign(new Error("order without id"), { code: "E_NO_ID" });
  const items = Array.isArray(order.items) ? order.items : [];
  const total = items.reduce((sum, item) => sum + Number(item.qty ?? 1) * Number(item.price ?? 0), 0);
  return {
    id: String(order.id),
    customer: String(order.customer ?? "").trim().toLowerCase(),
    country: String(order.country ?? "??").toUpperCase(),
    items: items.length,
    total: Math.round(total * 100) / 100,
    day: new Date(order.at).toISOString().slice(0, 10),
  };
}

/** `--fn totals`: only the id and the total. */
export function totals(order) {
  const { id, total } = clean(order);
  return { id, total };
}
