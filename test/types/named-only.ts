// A handler module with no default export: every call must name its `fn`.
export function upper(text: string): string {
  return text.toUpperCase();
}
