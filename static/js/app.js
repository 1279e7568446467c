/* SKYBEAT's app shell. htmx's hx-boost (attributes on <body>) turns links and forms into requests whose page
 * replaces #app, so the player outside #app keeps playing. This file adds what a page swap needs around that:
 *  - SkyBeat.onPage(hook): hook(root, signal) runs for the first page and after every swap; `signal` aborts when
 *    the page is swapped away, so listeners a hook adds to long-lived objects (the player's audio) go with it;
 *  - a response that is not a SKYBEAT page (admin, an error page of the server) is opened as a full page;
 *  - focus moves to the new page's heading, as a full page load would reset it;
 *  - the service worker (installable app, shell cache) is registered.
 */
(function () {
  "use strict";

  const hooks = [];
  let pageAbort = new AbortController();

  function app() {
    return document.getElementById("app");
  }

  function runHooks() {
    pageAbort.abort();
    pageAbort = new AbortController();
    const root = app();
    hooks.forEach((hook) => hook(root, pageAbort.signal));
  }

  function focusHeading(root) {
    const active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) return; // htmx kept focus on a field
    const heading = root.querySelector("h1") || root.querySelector("main");
    if (!heading) return;
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }

  window.SkyBeat = {
    onPage(hook) {
      hooks.push(hook);
    },
    /** The signed-in user's id ("" when anonymous), as the current page says. */
    user() {
      return app().dataset.user || "";
    },
    /** Where the listening API is, when someone is signed in. */
    listenUrl() {
      return app().dataset.listenUrl || "";
    },
    /** Open a SKYBEAT page the way a boosted link does. */
    visit(url) {
      if (window.htmx) window.htmx.ajax("GET", url, { target: "#app", select: "#app", swap: "outerHTML", push: "true" });
      else window.location.assign(url);
    },
  };

  document.addEventListener("DOMContentLoaded", runHooks);
  document.addEventListener("htmx:beforeSwap", (event) => {
    const xhr = event.detail.xhr;
    if (!xhr || !event.detail.shouldSwap || event.detail.target !== app()) return;
    if (!/<div id="app"/.test(xhr.response || "")) {
      event.detail.shouldSwap = false;
      window.location.assign(xhr.responseURL || event.detail.pathInfo.requestPath);
    }
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target !== app()) return;
    runHooks();
    window.scrollTo(0, 0);
    focusHeading(event.target);
  });
  document.addEventListener("htmx:sendError", (event) => {
    // No answer (offline, server down): open the page for real, so the browser (or the service worker) explains.
    window.location.assign(event.detail.pathInfo.finalRequestPath || event.detail.pathInfo.requestPath);
  });

  const worker = document.body.dataset.serviceWorker;
  if (worker && "serviceWorker" in navigator) {
    window.addEventListener("load", () => navigator.serviceWorker.register(worker).catch(() => {}));
  }
})();
