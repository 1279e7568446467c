/* SKYBEAT's service worker: keeps the app shell (styles, scripts, icons, the offline page) so the app starts and
 * explains itself offline. Songs, API answers and pages (which hold someone's data) always go to the network
 * and are never stored. */
"use strict";

const CACHE = "skybeat-shell-{{ version }}";
const SHELL = {{ shell_json|safe }};
const OFFLINE_URL = {{ offline_url|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...SHELL, OFFLINE_URL])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith("skybeat-shell-") && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

/** A shell file from the cache at once, refreshed from the network for next time. */
function shellFile(request) {
  return caches.open(CACHE).then((cache) =>
    cache.match(request).then((cached) => {
      const fresh = fetch(request).then((response) => {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
      return cached || fresh;
    }),
  );
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE_URL)));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(shellFile(request));
  }
  // Anything else (audio streams, the API, pages swapped in by htmx) is left to the network, untouched.
});
