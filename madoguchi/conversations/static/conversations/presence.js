/* Ticket presence: who else of the staff is viewing this ticket or writing on it.
 * Loaded by the ticket page when it has [data-ticket-presence] (staff only). The socket lives
 * as long as the page; the list [data-presence-list] sits in the workspace that htmx swaps, so
 * it is drawn again from memory after each swap. No inline script, no innerHTML. */
(function () {
  "use strict";
  var config = document.querySelector("[data-ticket-presence]");
  if (!config || !window.WebSocket) { return; }
  var TYPING_EVERY_MS = 2000;   // at most one typing frame per two seconds while keys are hit
  var WRITING_FOR_MS = 5000;    // "writing" turns back to "viewing" after five silent seconds
  var FORGET_AFTER_MS = 65000;  // members re-announce on every ping (25 s)
  var PING_EVERY_MS = 25000;
  var socket = null;
  var retry = 0;
  var lastTyping = 0;
  var pingTimer = null;
  var leaving = false;
  var members = {};  // connection id -> {user_id, name, state, box, seen, writingUntil}

  function label(member) {
    var key = "data-label-viewing";
    if (member.state === "writing") {
      key = member.box === "note" ? "data-label-writing-note" : "data-label-writing-reply";
    }
    return (config.getAttribute(key) || "%(name)s").replace("%(name)s", member.name);
  }

  function draw() {
    var list = document.querySelector("[data-presence-list]");
    if (!list) { return; }
    var now = Date.now();
    var byUser = {};
    Object.keys(members).forEach(function (id) {
      var member = members[id];
      if (now - member.seen > FORGET_AFTER_MS) { delete members[id]; return; }
      var state = member.writingUntil > now ? "writing" : "viewing";
      var shown = byUser[member.user_id];
      if (!shown || (state === "writing" && shown.state !== "writing")) {
        byUser[member.user_id] = { name: member.name, state: state, box: member.box, user_id: member.user_id };
      }
    });
    while (list.firstChild) { list.removeChild(list.firstChild); }
    Object.keys(byUser).sort().forEach(function (userId) {
      var member = byUser[userId];
      var item = document.createElement("li");
      item.className = "presence__item presence__item--" + member.state;
      item.setAttribute("data-testid", "presence-item");
      item.setAttribute("data-state", member.state);
      item.setAttribute("data-user-id", String(member.user_id));
      item.textContent = label(member);
      list.appendChild(item);
    });
  }

  function onFrame(data) {
    if (data.type === "presence" && data.id) {
      var member = members[data.id] || {};
      member.user_id = data.user_id;
      member.name = String(data.name || "");
      member.box = data.box || "";
      member.seen = Date.now();
      member.writingUntil = data.state === "writing" ? Date.now() + WRITING_FOR_MS : 0;
      members[data.id] = member;
      if (data.state === "writing") { setTimeout(draw, WRITING_FOR_MS + 50); }
      draw();
    } else if (data.type === "leave" && data.id) {
      delete members[data.id];
      draw();
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.getAttribute("data-path"));
    socket.onopen = function () {
      retry = 0;
      config.setAttribute("data-presence-connected", "true");
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        if (socket && socket.readyState === 1) { socket.send(JSON.stringify({ type: "ping" })); }
        draw();
      }, PING_EVERY_MS);
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      onFrame(data);
    };
    socket.onclose = function (event) {
      config.removeAttribute("data-presence-connected");
      clearInterval(pingTimer);
      socket = null;
      members = {};
      draw();
      if (leaving || event.code === 4403) { return; }  // gone, or no (more) access
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, Math.min(500 * Math.pow(2, retry), 15000));
    };
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target.matches || !target.matches("textarea[name=body]")) { return; }
    var form = target.closest("form");
    var box = form && form.getAttribute("data-testid") === "note-form" ? "note" : "reply";
    var now = Date.now();
    if (socket && socket.readyState === 1 && now - lastTyping > TYPING_EVERY_MS) {
      lastTyping = now;
      socket.send(JSON.stringify({ type: "typing", box: box }));
    }
  });
  document.body.addEventListener("htmx:afterSwap", draw);
  window.addEventListener("pagehide", function () {
    leaving = true;
    if (socket) { socket.close(); }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && leaving) { leaving = false; connect(); }
  });

  connect();
})();
