// Jobs of a small crawler. Fetches are fake (no network): a page is made up from its URL.
export async function fetch(url) {
  await new Promise((resolve) => setTimeout(resolve, 5)); // pretend to wait on the network
  if (url.endsWith("/missing")) throw new Error(`404 for ${url}`);
  const links = [1, 2, 3].map((n) => `${url}/page${n}`);
  return { url, html: `<h1>${url}</h1><p>Some words about ${url}.</p>${links.map((l) => `<a href="${l}">${l}</a>`).join("")}` };
}

export function text(page) {
  return page.html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim();
}

export function extractLinks(page) {
  return [...page.html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
}

export function store({ text, links }) {
  // A real job would write to a database; this one returns what it would write.
  return { words: text.split(" ").length, links: links.length };
}
