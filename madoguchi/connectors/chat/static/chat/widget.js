/* Madoguchi live chat widget. One tag on the shop's page:
 *   <script src="https://HOST/static/chat/widget.js" data-shop-key="KEY" async></script>
 * Optional: data-lang="en", data-user-id + data-user-hash (HMAC-SHA256 of the user id with the
 * shop's identity secret), data-user-email, data-user-name, data-help-center (the shop's slug:
 * help articles are suggested while the visitor types, see madoguchi/knowledge).
 * Every text is set with textContent: visitor and operator text is never parsed as HTML.
 * Nothing is lost: each message the visitor writes has a client id and is kept until the server
 * acknowledges it (stored); on every (re)connect the widget says hello with the highest message
 * id it shows and resends what is unacknowledged with the same client id, which the server
 * stores once. Each own message shows its state: sending, sent (stored), delivered (an
 * operator's page received it) or not sent, with a button to resend it
 * (docs/adr/0018-chat-cursors.md).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.getAttribute("data-shop-key")) { return; }
  var key = script.getAttribute("data-shop-key");
  var base = new URL(script.src, document.baseURI).origin;
  var lang = script.getAttribute("data-lang") === "en" ? "en" : "ja";
  var storeKey = "madoguchi-chat:" + key;
  var state = { token: null, cursor: 0, delivered: 0, available: false, hasEmail: false, labels: {}, maxChars: 4000 };
  var ACK_TIMEOUT_MS = 10000;
  var seen = {};
  var pending = {};
  var order = [];
  var socket = null;
  var retry = 0;
  var ui = {};
  var typingTimer = null;
  var lastTyping = 0;
  var help = script.getAttribute("data-help-center");
  var helpBase = help ? base + "/help/" + encodeURIComponent(help) + "/suggest/" : "";
  var helpState = { timer: null, query: "", shown: "", wasShown: false };

  try { state.token = window.localStorage.getItem(storeKey); } catch (e) { state.token = null; }

  function el(tag, props, style) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      if (name === "text") { node.textContent = props[name]; } else { node.setAttribute(name, props[name]); }
    });
    Object.keys(style || {}).forEach(function (name) { node.style[name] = style[name]; });
    return node;
  }

  function label(name) { return state.labels[name] || name; }

  function clientId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function build() {
    var host = el("div", { "data-madoguchi-chat": "" }, { position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000" });
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var font = "system-ui, 'Hiragino Sans', 'Noto Sans CJK JP', 'Yu Gothic', sans-serif";
    ui.launcher = el("button", { type: "button", "data-testid": "chat-launcher", text: label("launcher") },
      { font: "15px " + font, padding: "10px 16px", borderRadius: "20px", border: "0", background: "#1f5f8b", color: "#fff", cursor: "pointer" });
    ui.panel = el("section", { "aria-label": label("title"), "data-testid": "chat-panel" },
      { display: "none", flexDirection: "column", width: "320px", maxHeight: "480px", background: "#fff", color: "#222", font: "14px " + font, border: "1px solid #ccd", borderRadius: "8px", boxShadow: "0 4px 16px rgba(0,0,0,.2)", overflow: "hidden" });
    var head = el("div", {}, { display: "flex", justifyContent: "space-between", alignItems: "center", padding: "8px 12px", background: "#1f5f8b", color: "#fff" });
    head.appendChild(el("strong", { text: label("title") }));
    var closeButton = el("button", { type: "button", "aria-label": label("close"), text: "×" }, { background: "none", border: "0", color: "#fff", fontSize: "18px", cursor: "pointer" });
    head.appendChild(closeButton);
    ui.status = el("p", { "data-testid": "chat-status", role: "status" }, { margin: "0", padding: "6px 12px", background: "#eef4f8", fontSize: "12px" });
    ui.list = el("ol", { "data-testid": "chat-messages", "aria-live": "polite" }, { listStyle: "none", margin: "0", padding: "8px 12px", overflowY: "auto", flex: "1", minHeight: "160px" });
    ui.typing = el("p", { "data-testid": "chat-typing", text: "" }, { margin: "0", padding: "0 12px", minHeight: "16px", fontSize: "12px", color: "#666" });
    ui.error = el("p", { "data-testid": "chat-error", role: "alert", text: "" }, { margin: "0", padding: "0 12px", fontSize: "12px", color: "#b00020" });
    ui.form = el("form", { "data-testid": "chat-form" }, { display: "flex", flexDirection: "column", gap: "6px", padding: "8px 12px", borderTop: "1px solid #dde" });
    ui.email = el("input", { type: "email", name: "email", autocomplete: "email", placeholder: label("email"), "aria-label": label("email") }, { display: "none", font: "inherit", padding: "6px" });
    ui.text = el("textarea", { name: "message", rows: "2", placeholder: label("message"), "aria-label": label("message") }, { font: "inherit", padding: "6px", resize: "vertical" });
    ui.send = el("button", { type: "submit", text: label("send") }, { font: "inherit", padding: "6px", background: "#1f5f8b", color: "#fff", border: "0", borderRadius: "4px", cursor: "pointer" });
    ui.form.appendChild(ui.email);
    ui.form.appendChild(ui.text);
    ui.form.appendChild(ui.send);
    var end = el("div", {}, { display: "flex", gap: "6px", alignItems: "center", padding: "0 12px 8px", fontSize: "12px" });
    ui.transcript = el("input", { type: "checkbox", id: "madoguchi-chat-transcript" });
    end.appendChild(ui.transcript);
    end.appendChild(el("label", { "for": "madoguchi-chat-transcript", text: label("transcript") }));
    ui.end = el("button", { type: "button", text: label("end") }, { marginLeft: "auto", font: "inherit", cursor: "pointer" });
    end.appendChild(ui.end);
    ui.suggest = el("ul", { "data-testid": "chat-help-suggestions", "aria-label": lang === "en" ? "Help articles" : "ヘルプ記事" }, { display: "none", margin: "0", padding: "4px 12px 4px 28px", fontSize: "12px", background: "#f5f9ff" });
    [head, ui.status, ui.list, ui.typing, ui.error, ui.suggest, ui.form, end].forEach(function (node) { ui.panel.appendChild(node); });
    root.appendChild(ui.launcher);
    root.appendChild(ui.panel);
    document.body.appendChild(host);

    ui.launcher.addEventListener("click", function () { show(true); });
    closeButton.addEventListener("click", function () { show(false); });
    ui.form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    ui.text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
    });
    ui.text.addEventListener("input", function () {
      var now = Date.now();
      if (socket && socket.readyState === 1 && now - lastTyping > 2000) {
        lastTyping = now;
        socket.send(JSON.stringify({ type: "typing" }));
      }
      if (helpBase) { clearTimeout(helpState.timer); helpState.timer = setTimeout(suggestHelp, 400); }
    });
    ui.end.addEventListener("click", endChat);
    render();
  }

  function show(open) {
    ui.panel.style.display = open ? "flex" : "none";
    ui.launcher.style.display = open ? "none" : "inline-block";
    if (open) { ui.text.focus(); }
  }

  function render() {
    var needEmail = !state.available && !state.hasEmail;
    ui.status.textContent = state.available ? label("online") : label("offline");
    ui.email.style.display = needEmail ? "block" : "none";
    ui.email.required = needEmail;
  }

  function addMessage(message, isPending) {
    var own = message.direction === "inbound";
    var item = el("li", { "data-testid": "chat-message", "data-direction": message.direction },
      { margin: "6px 0", display: "flex", flexDirection: "column", alignItems: own ? "flex-end" : "flex-start" });
    var bubble = el("div", { "data-testid": "chat-message-text", text: message.text },
      { whiteSpace: "pre-wrap", wordBreak: "break-word", overflowWrap: "anywhere", unicodeBidi: "isolate", maxWidth: "80%", padding: "6px 10px", borderRadius: "10px", background: own ? "#dcecf7" : "#f1f1f1", opacity: isPending ? "0.6" : "1" });
    item.appendChild(bubble);
    if (message.id) { item.setAttribute("data-id", String(message.id)); }
    if (own) {
      var mark = el("span", { "data-testid": "chat-message-state" }, { fontSize: "11px", color: "#666", marginTop: "2px" });
      item.appendChild(mark);
      setState(item, isPending ? "sending" : (message.id <= state.delivered ? "delivered" : "sent"));
    }
    ui.list.appendChild(item);
    ui.list.scrollTop = ui.list.scrollHeight;
    return item;
  }

  // sending -> sent (stored) -> delivered (an operator's page has it); failed shows 「再送」.
  function setState(item, name) {
    item.setAttribute("data-state", name);
    item.firstChild.style.opacity = name === "sending" || name === "failed" ? "0.6" : "1";
    var mark = item.querySelector("[data-testid=chat-message-state]");
    mark.textContent = label("state_" + name);
    if (name === "failed") {
      var again = el("button", { type: "button", "data-testid": "chat-resend", text: label("resend") },
        { marginLeft: "6px", font: "inherit", fontSize: "11px", cursor: "pointer" });
      var cid = item.getAttribute("data-client-id");
      again.addEventListener("click", function () { resend(cid); });
      mark.appendChild(again);
    }
  }

  function markDelivered() {
    var items = ui.list.querySelectorAll("[data-direction=inbound][data-id]");
    Array.prototype.forEach.call(items, function (item) {
      if (parseInt(item.getAttribute("data-id"), 10) <= state.delivered && item.getAttribute("data-state") !== "delivered") {
        setState(item, "delivered");
      }
    });
  }

  function fail(cid) {
    var entry = pending[cid];
    if (!entry) { return; }
    clearTimeout(entry.timer);
    if (entry.el.getAttribute("data-state") !== "failed") { setState(entry.el, "failed"); }
  }

  function confirmPending(cid, id) {
    var entry = pending[cid];
    if (!entry) { return false; }
    delete pending[cid];
    clearTimeout(entry.timer);
    entry.el.setAttribute("data-id", String(id));
    setState(entry.el, id <= state.delivered ? "delivered" : "sent");
    seen[id] = true;
    state.cursor = Math.max(state.cursor, id);
    return true;
  }

  function onServerMessage(message) {
    if (seen[message.id]) { return; }
    if (message.client_id && confirmPending(message.client_id, message.id)) { return; }
    seen[message.id] = true;
    state.cursor = Math.max(state.cursor, message.id);
    addMessage(message, false);
    if (message.direction === "outbound") { ui.typing.textContent = ""; }
  }

  function save(token) {
    state.token = token;
    try {
      if (token) { window.localStorage.setItem(storeKey, token); } else { window.localStorage.removeItem(storeKey); }
    } catch (e) { /* storage may be off; the chat still works for this page */ }
  }

  function openConversation() {
    var body = {
      name: script.getAttribute("data-user-name") || "",
      email: script.getAttribute("data-user-email") || ui.email.value || "",
      user_id: script.getAttribute("data-user-id") || "",
      user_hash: script.getAttribute("data-user-hash") || ""
    };
    return fetch(base + "/chat/w/" + encodeURIComponent(key) + "/conversations/", {
      method: "POST", mode: "cors", credentials: "omit",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) { throw new Error("open " + response.status); }
      return response.json();
    }).then(function (data) {
      save(data.token);
      state.hasEmail = !!body.email;
      state.available = !!data.available;
      render();
      connect();
    });
  }

  function connect() {
    if (!state.token || (socket && socket.readyState <= 1)) { return; }
    var url = base.replace(/^http/, "ws") + "/ws/chat/" + encodeURIComponent(state.token) + "/";
    socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 0;
      ui.error.textContent = "";
      // The replay first (everything after the cursor), then what was never acknowledged.
      socket.send(JSON.stringify({ type: "hello", cursor: state.cursor }));
      order = order.filter(function (cid) { return !!pending[cid]; });
      order.forEach(sendFrame);
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "message") { onServerMessage(data); }
      else if (data.type === "ack") { confirmPending(data.client_id, data.id); }
      else if (data.type === "ready") {
        state.available = !!data.available;
        state.hasEmail = state.hasEmail || !!data.has_email;
        state.cursor = Math.max(state.cursor, data.cursor || 0);
        state.delivered = Math.max(state.delivered, data.delivered || 0);
        markDelivered();
        render();
        // More missed messages than one page: ask for the next one.
        if (data.complete === false) { socket.send(JSON.stringify({ type: "hello", cursor: data.cursor })); }
      }
      else if (data.type === "delivered") { state.delivered = Math.max(state.delivered, data.id || 0); markDelivered(); }
      else if (data.type === "presence") { state.available = !!data.available; render(); }
      else if (data.type === "typing") {
        ui.typing.textContent = label("typing");
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { ui.typing.textContent = ""; }, 4000);
      } else if (data.type === "error") {
        ui.error.textContent = label(data.code);
        if (data.client_id && pending[data.client_id] && data.code === "email_required") {
          // Not stored: the text goes back to the box, to send with an address.
          if (!ui.text.value) { ui.text.value = pending[data.client_id].text; }
          clearTimeout(pending[data.client_id].timer);
          pending[data.client_id].el.remove();
          delete pending[data.client_id];
          state.hasEmail = false;
          render();
        } else if (data.client_id) {
          fail(data.client_id);
        }
      } else if (data.type === "closed") {
        save(null);
        ui.error.textContent = label("ended");
      }
    };
    socket.onclose = function (event) {
      socket = null;
      // Unacknowledged messages may or may not be stored: the same client id resends them safely.
      Object.keys(pending).forEach(fail);
      if (event.code === 4403 || !state.token) { save(null); return; }
      ui.error.textContent = label("reconnecting");
      // 4429: too many sockets open on this token or address; try again only slowly.
      retry = event.code === 4429 ? 6 : Math.min(retry + 1, 6);
      setTimeout(connect, Math.min(500 * Math.pow(2, retry), 15000));
    };
  }

  function sendFrame(cid) {
    var entry = pending[cid];
    if (!entry || !socket || socket.readyState !== 1) { return; }
    var frame = { type: "message", client_id: cid, text: entry.text };
    if (entry.email) { frame.email = entry.email; }
    if (entry.el.getAttribute("data-state") !== "sending") { setState(entry.el, "sending"); }
    clearTimeout(entry.timer);
    entry.timer = setTimeout(function () { fail(cid); }, ACK_TIMEOUT_MS);
    socket.send(JSON.stringify(frame));
  }

  function resend(cid) {
    if (!pending[cid]) { return; }
    if (socket && socket.readyState === 1) { sendFrame(cid); return; }
    if (!state.token) {  // the conversation could not be opened yet
      setState(pending[cid].el, "sending");
      openConversation().catch(function () { ui.error.textContent = label("invalid"); fail(cid); });
      return;
    }
    retry = 0;
    connect();  // onopen resends every unacknowledged message
  }

  function submit() {
    var text = ui.text.value.trim();
    if (!text) { return; }
    var email = ui.email.style.display !== "none" ? ui.email.value.trim() : "";
    if (ui.email.required && !email) { ui.error.textContent = label("email_required"); return; }
    // Too long for the server: refused here, kept in the box (sent, it would be refused again
    // at every reconnect).
    if (text.length > state.maxChars) { ui.error.textContent = label("too_long"); return; }
    if (helpState.wasShown) { helpState.wasShown = false; helpEvent("contacted", []); }
    var cid = clientId();
    var item = addMessage({ direction: "inbound", text: text }, true);
    item.setAttribute("data-client-id", cid);
    pending[cid] = { text: text, email: email, el: item, timer: null };
    order.push(cid);
    ui.text.value = "";
    ui.error.textContent = "";
    if (email) { state.hasEmail = true; render(); }
    if (socket && socket.readyState === 1) { sendFrame(cid); return; }
    if (!state.token) {
      openConversation().catch(function () { ui.error.textContent = label("invalid"); fail(cid); });
    } else {
      fail(cid);  // not sent yet: shown with 「再送」 until the socket is back and sends it
      connect();
    }
  }

  // Help-article suggestions (optional): matching articles of the shop's help center under the
  // text box, and the events of the deflection figure (shown, opened, contacted anyway).
  function helpVisitor() {
    var id = null;
    try { id = window.localStorage.getItem("madoguchi-help-visitor"); } catch (e) { id = null; }
    if (!id) {
      id = clientId();
      try { window.localStorage.setItem("madoguchi-help-visitor", id); } catch (e) { /* one page only */ }
    }
    return id;
  }

  function helpEvent(kind, ids) {
    var body = JSON.stringify({ kind: kind, visitor: helpVisitor(), source: "chat", article_ids: ids });
    var blob = new Blob([body], { type: "text/plain" });
    if (!(navigator.sendBeacon && navigator.sendBeacon(helpBase + "events/", blob))) {
      fetch(helpBase + "events/", { method: "POST", body: body, mode: "cors", credentials: "omit", keepalive: true });
    }
  }

  function suggestHelp() {
    var text = ui.text.value.trim().slice(0, 120);
    if (text.length < 2 || text === helpState.query) { return; }
    helpState.query = text;
    fetch(helpBase + "?source=chat&lang=" + lang + "&q=" + encodeURIComponent(text), { mode: "cors", credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : { articles: [] }; })
      .then(function (data) {
        var articles = data.articles || [];
        while (ui.suggest.firstChild) { ui.suggest.removeChild(ui.suggest.firstChild); }
        articles.forEach(function (article) {
          var link = el("a", { href: base + article.url, target: "_blank", rel: "noopener", text: article.title, "data-testid": "chat-help-suggestion" });
          link.addEventListener("click", function () { helpEvent("opened", [article.id]); });
          var item = el("li", {});
          item.appendChild(link);
          ui.suggest.appendChild(item);
        });
        ui.suggest.style.display = articles.length ? "block" : "none";
        var ids = articles.map(function (article) { return article.id; });
        if (ids.length && ids.join(",") !== helpState.shown) {
          helpState.shown = ids.join(",");
          helpState.wasShown = true;
          helpEvent("shown", ids);
        }
      })
      .catch(function () { /* suggestions are a help, never a hindrance */ });
  }

  function endChat() {
    if (socket && socket.readyState === 1) {
      socket.send(JSON.stringify({ type: "close", transcript: ui.transcript.checked }));
    }
    save(null);
  }

  fetch(base + "/chat/w/" + encodeURIComponent(key) + "/config/?lang=" + lang, { mode: "cors", credentials: "omit" })
    .then(function (response) { if (!response.ok) { throw new Error("config"); } return response.json(); })
    .then(function (data) {
      state.labels = data.labels || {};
      if (data.max_message_chars) { state.maxChars = data.max_message_chars; }
      state.available = !!data.available;
      var start = function () { build(); if (state.token) { show(true); connect(); } };
      if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
    })
    .catch(function () { /* not allowed on this site, or the service is down: no widget */ });
})();
