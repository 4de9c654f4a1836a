/* Live chat for operators: new visitor messages appear on the ticket page and in the inbox
 * without a reload. Loaded by a template that has an element with data-chat-operator
 * (data-ticket-id and data-channel on the ticket page). No inline script, no innerHTML.
 * The page is rendered with a cursor (data-chat-cursor, the newest message id then); on every
 * (re)connect the socket resumes from the highest id seen, so a dropped socket costs a catch-up
 * and never a message (docs/adr/0018-chat-cursors.md). Each visitor message received is
 * reported back (`received`), which shows it as delivered in the visitor's widget. */
(function () {
  "use strict";
  var root = document.querySelector("[data-chat-operator]");
  if (!root || !window.WebSocket) { return; }
  var socket = null;
  var retry = 0;
  var lastTyping = 0;
  var typingTimer = null;
  var pingTimer = null;
  var shown = {};
  var seen = {};
  var cursor = parseInt(root.getAttribute("data-chat-cursor") || "0", 10) || 0;
  var receipts = {};
  var receiptTimer = null;

  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (cls) { node.className = cls; }
    return node;
  }

  function ticketId() {
    var holder = document.querySelector("[data-chat-operator]");
    return holder ? holder.getAttribute("data-ticket-id") || "" : "";
  }

  function typingLine() {
    var line = root.querySelector("[data-chat-typing]");
    if (!line) {
      line = text("p", "", "chat-typing muted");
      line.setAttribute("data-chat-typing", "");
      line.setAttribute("data-testid", "chat-visitor-typing");
      root.appendChild(line);
    }
    return line;
  }

  function appendToTimeline(message) {
    var timeline = document.querySelector("[data-testid=timeline]");
    if (!timeline || shown[message.id] || timeline.querySelector("[data-message-id='" + message.id + "']")) { return; }
    shown[message.id] = true;
    var item = document.createElement("li");
    item.className = "message message--" + message.direction;
    item.setAttribute("data-testid", "timeline-message");
    item.setAttribute("data-direction", message.direction);
    item.setAttribute("data-message-id", String(message.id));
    var head = document.createElement("div");
    head.className = "message__head";
    head.appendChild(text("span", root.getAttribute("data-label-customer") || "", "message__author"));
    head.appendChild(text("span", root.getAttribute("data-label-chat") || "", "chip chip--chat"));
    var at = new Date(message.at);
    head.appendChild(text("time", at.toLocaleString(), "message__time"));
    item.appendChild(head);
    item.appendChild(text("div", message.text, "message__body"));
    timeline.appendChild(item);
    typingLine().textContent = "";
  }

  function addToFeed(event) {
    var feed = root.querySelector("[data-chat-feed]");
    if (!feed) {
      feed = document.createElement("ul");
      feed.className = "chat-feed";
      feed.setAttribute("data-chat-feed", "");
      feed.setAttribute("data-testid", "chat-feed");
      feed.setAttribute("aria-live", "polite");
      root.appendChild(text("h2", root.getAttribute("data-label-feed") || "", "sidebar__heading"));
      root.appendChild(feed);
    }
    var item = document.createElement("li");
    item.setAttribute("data-testid", "chat-feed-item");
    var link = text("a", event.reference, "chat-feed__link");
    if (event.url && event.url.charAt(0) === "/") { link.setAttribute("href", event.url); }
    item.appendChild(link);
    item.appendChild(text("span", " " + event.message.text, "chat-feed__text"));
    feed.insertBefore(item, feed.firstChild);
  }

  function flushReceipts() {
    receiptTimer = null;
    if (!socket || socket.readyState !== 1) { return; }
    Object.keys(receipts).forEach(function (ticket) {
      socket.send(JSON.stringify({ type: "received", id: receipts[ticket] }));
    });
    receipts = {};
  }

  function receipt(event) {
    // The newest visitor message of each ticket is enough: it marks the older ones too.
    var known = receipts[event.ticket_id] || 0;
    receipts[event.ticket_id] = Math.max(known, event.message.id);
    if (!receiptTimer) { receiptTimer = setTimeout(flushReceipts, 200); }
  }

  function onEvent(event) {
    var current = ticketId();
    if (event.kind === "message") {
      if (seen[event.message.id]) { return; }
      seen[event.message.id] = true;
      cursor = Math.max(cursor, event.message.id);
      if (event.message.direction === "inbound") { receipt(event); }
      if (current && String(event.ticket_id) === current) {
        if (event.message.direction === "inbound") { appendToTimeline(event.message); }
      } else if (event.message.direction === "inbound") {
        addToFeed(event);
      }
    } else if (event.kind === "typing" && current && String(event.ticket_id) === current) {
      var line = typingLine();
      line.textContent = root.getAttribute("data-label-typing") || "";
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { line.textContent = ""; }, 4000);
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/operator/");
    socket.onopen = function () {
      retry = 0;
      root.setAttribute("data-chat-connected", "true");
      socket.send(JSON.stringify({ type: "resume", cursor: cursor }));
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        if (socket && socket.readyState === 1) { socket.send(JSON.stringify({ type: "ping" })); }
      }, 25000);
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (data.type === "event") { onEvent(data); }
      else if (data.type === "ready") {
        cursor = Math.max(cursor, data.cursor || 0);
        // More missed messages than one page: ask for the next one.
        if (!data.complete) { socket.send(JSON.stringify({ type: "resume", cursor: data.cursor })); }
      }
    };
    socket.onclose = function (event) {
      root.removeAttribute("data-chat-connected");
      clearInterval(pingTimer);
      socket = null;
      if (event.code === 4403) { return; }
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, Math.min(500 * Math.pow(2, retry), 15000));
    };
  }

  // A reply sent from the ticket page appends, out of band, the messages after the one the page
  // showed last; a visitor's message this script already showed live is not kept twice.
  document.addEventListener("htmx:afterSettle", function () {
    var timeline = document.querySelector("[data-testid=timeline]");
    if (!timeline) { return; }
    var ids = {};
    Array.prototype.forEach.call(timeline.querySelectorAll("[data-message-id]"), function (item) {
      var id = item.getAttribute("data-message-id");
      if (ids[id]) { item.parentNode.removeChild(item); } else { ids[id] = true; }
    });
  });

  document.addEventListener("input", function (event) {
    var target = event.target;
    var holder = document.querySelector("[data-chat-operator]");
    if (!holder || holder.getAttribute("data-channel") !== "chat") { return; }
    if (!target.matches || !target.matches("textarea[name=body]")) { return; }
    var now = Date.now();
    if (socket && socket.readyState === 1 && now - lastTyping > 2000 && ticketId()) {
      lastTyping = now;
      socket.send(JSON.stringify({ type: "typing", ticket_id: parseInt(ticketId(), 10) }));
    }
  });

  connect();
})();
