// Live updates of the status page without reloading (no inline script: the page's CSP forbids it).
// When the station records an event (Server-Sent Events on /api/events/stream, sent with the session
// cookie) and every few seconds anyway, fetch this same page again and swap in every
// <section data-live id=...> that changed. The server alone knows how things are drawn.
(function () {
  "use strict";
  var POLL_MS = 5000;
  var running = false;
  var again = false;
  var timer = null;
  var stateEl = document.getElementById("live-state");

  function say(text) {
    if (stateEl) { stateEl.textContent = text; }
  }

  function editing() {
    // Never replace a form staff are typing into (a reason for taking a bay out of service, say).
    var el = document.activeElement;
    return !!(el && el.closest && el.closest("[data-live]") &&
              (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA"));
  }

  function refresh() {
    if (running) { again = true; return; }
    if (editing()) { soon(1000); return; }
    running = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401) {
          window.location.reload();  // signed out: let the server send the sign-in page
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (text) {
        if (text === null || text === undefined) { return; }
        var fresh = new DOMParser().parseFromString(text, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (old) {
          var next = fresh.getElementById(old.id);
          if (next && next.innerHTML !== old.innerHTML) { old.replaceWith(document.importNode(next, true)); }
        });
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { say("live updates: station not answering, retrying"); })
      .then(function () {
        running = false;
        if (again) { again = false; soon(100); }
      });
  }

  function soon(ms) {
    if (timer !== null) { clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; refresh(); }, ms);
  }

  if (!document.querySelector("[data-live]")) { return; }
  setInterval(refresh, POLL_MS);
  if (window.EventSource) {
    var types = (document.body.getAttribute("data-event-types") || "").split(" ");
    var source = new EventSource("/api/events/stream");
    var onEvent = function () { soon(150); };
    types.forEach(function (type) { if (type) { source.addEventListener(type, onEvent); } });
    source.onmessage = onEvent;
    source.onopen = function () { say("live updates: on"); };
    source.onerror = function () { say("live updates: reconnecting (the page still refreshes every 5 s)"); };
  } else {
    say("live updates: every 5 s");
  }
})();
