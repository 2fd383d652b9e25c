// Service worker of the member app: keeps the app shell so the app opens without a network.
// Pages and files are fetched from the network first (a new release shows at once) and served
// from the cache when the network fails. API calls and the live socket are never cached: the
// app's outbox handles actions taken offline.

const CACHE = "jiefang-member-v3";
const SHELL = [
  "/app",
  "/app/manifest.webmanifest",
  "/static/member/member.js",
  "/static/member/queue.js",
  "/static/member/scanner.js",
  "/static/member/reports.js",
  "/static/member/member.css",
  "/static/member/icon.svg",
  "/static/member/icon-192.png",
  "/static/member/icon-512.png",
  "/static/api.js",
  "/static/i18n.js",
  "/static/live.js",
  "/static/dom.js",
  "/static/voice.js",
  "/static/voice.css",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet/leaflet.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith("jiefang-member-") && key !== CACHE)
        .map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  return url.origin === self.location.origin && (url.pathname === "/app" || url.pathname.startsWith("/app/")
    || url.pathname.startsWith("/static/"));
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || !isShell(url) || url.pathname === "/app/sw.js") return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })
        .then((hit) => hit ?? Response.error())),
  );
});
