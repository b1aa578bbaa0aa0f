// Live regions: when the server says something changed (server-sent events), fetch the region's
// fragment again. A region marked data-keep-state is only replaced when its state changes, so
// text being typed in it is not lost.
"use strict";
(function () {
  const sources = {};
  function refresh(el) {
    fetch(el.dataset.fragment, { credentials: "same-origin" }).then(function (r) {
      if (r.redirected || !r.ok) { return null; }
      return r.text();
    }).then(function (html) {
      if (html === null || html === undefined) { return; }
      if (el.dataset.keepState) {
        const probe = document.createElement("div");
        probe.innerHTML = html;
        const now = el.querySelector("[data-state]");
        const next = probe.querySelector("[data-state]");
        if (now && next && now.dataset.state === next.dataset.state) { return; }
      }
      el.innerHTML = html;
      el.dataset.version = String(Number(el.dataset.version || "0") + 1);
    });
  }
  document.querySelectorAll("[data-sse]").forEach(function (el) {
    const url = el.dataset.sse;
    if (!sources[url]) {
      sources[url] = { source: new EventSource(url), regions: [] };
      const entry = sources[url];
      const handler = function () { entry.regions.forEach(refresh); };
      entry.source.addEventListener("queue", handler);
      entry.source.addEventListener("live", handler);
    }
    sources[url].regions.push(el);
  });
})();
