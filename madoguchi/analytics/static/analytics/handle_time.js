/* Handle time: how long staff actually work on this ticket (analytics, `ticket.worked`).
 * Loaded by the ticket page for the shop's staff ([data-handle-time]). Counts only while the
 * page is visible and focused and someone used it in the last two minutes; the part right after
 * typing in a composer (reply or note) counts as composing. Reports the counted seconds about
 * every 30 s of activity and when the page is hidden, blurred or left (fetch keepalive, or
 * sendBeacon). No timer runs while the page is hidden, blurred or idle. No inline script. */
(function () {
  "use strict";
  var config = document.querySelector("[data-handle-time]");
  if (!config || !window.FormData) { return; }
  var FLUSH_EVERY_MS = 1000 * (parseInt(config.getAttribute("data-flush-seconds"), 10) || 30);
  var TICK_MS = 5000;
  var IDLE_AFTER_MS = 120000;     // nobody touched the page for two minutes: not working on it
  var COMPOSING_FOR_MS = 15000;   // typing counts as composing until 15 s after the last key
  var url = config.getAttribute("data-url");
  var csrf = config.getAttribute("data-csrf");
  var viewingMs = 0;
  var composingMs = 0;
  var lastMark = null;            // counted up to here; null while not counting
  var lastActivity = Date.now();
  var lastTyping = -Infinity;
  var lastSeen = 0;
  var timer = null;

  function isActive() {
    return document.visibilityState === "visible" && document.hasFocus();
  }

  function addUp() {
    if (lastMark === null) { return; }
    var now = Date.now();
    var until = Math.min(now, lastActivity + IDLE_AFTER_MS);
    if (until > lastMark) {
      var composeStart = Math.max(lastMark, lastTyping);
      var composeEnd = Math.min(until, lastTyping + COMPOSING_FOR_MS);
      var composing = Math.max(0, composeEnd - composeStart);
      composingMs += composing;
      viewingMs += until - lastMark - composing;
    }
    lastMark = now;
  }

  function send(seconds, composing, leaving) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrf);
    body.append("seconds", String(seconds));
    body.append("composing", String(composing));
    if (window.fetch) {
      window.fetch(url, {
        method: "POST", body: body, credentials: "same-origin", keepalive: true,
        headers: { "X-CSRFToken": csrf }
      }).catch(function () {});
    } else if (leaving && navigator.sendBeacon) {
      navigator.sendBeacon(url, body);
    }
  }

  function flush(leaving) {
    addUp();
    var seconds = Math.floor((viewingMs + composingMs) / 1000);
    if (seconds < 1) { return; }
    var composing = Math.min(seconds, Math.floor(composingMs / 1000));
    composingMs = Math.max(0, composingMs - composing * 1000);
    viewingMs = Math.max(0, viewingMs - (seconds - composing) * 1000);
    send(seconds, composing, leaving);
  }

  function tick() {
    addUp();
    if (viewingMs + composingMs >= FLUSH_EVERY_MS) { flush(false); }
    if (Date.now() - lastActivity > IDLE_AFTER_MS) { stop(false); }
  }

  function start() {
    if (lastMark !== null || !isActive()) { return; }
    lastMark = Date.now();
    timer = window.setInterval(tick, TICK_MS);
  }

  function stop(leaving) {
    if (lastMark === null) { return; }
    addUp();
    lastMark = null;
    window.clearInterval(timer);
    timer = null;
    flush(leaving);
  }

  function activity() {
    var now = Date.now();
    if (now - lastSeen < 1000 && lastMark !== null) { return; }
    lastSeen = now;
    addUp();
    lastActivity = now;
    start();
  }

  function typing(event) {
    var target = event.target;
    if (!target || !target.closest || !target.closest("form.composer")) { return; }
    addUp();
    lastTyping = Date.now();
    lastActivity = lastTyping;
    start();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { activity(); } else { stop(true); }
  });
  window.addEventListener("focus", activity);
  window.addEventListener("blur", function () { stop(true); });
  window.addEventListener("pagehide", function () { stop(true); });
  ["keydown", "pointerdown", "pointermove", "wheel", "scroll"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true, capture: true });
  });
  document.addEventListener("input", typing, true);
  start();
})();
