// Help-article suggestions on the shop's contact form: as the customer types the message, the
// shop's published help articles that match are listed above the form (debounced), and the
// facts the deflection figure needs are sent as events: suggestions shown, one opened, and
// the form sent anyway. The visitor is a random id kept in this browser, nothing personal.
// Configured by the data attributes of the [data-help-suggest] box; no inline script (CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-help-suggest]");
  if (!box || !window.fetch) {
    return;
  }
  var suggestUrl = box.getAttribute("data-help-suggest");
  var eventsUrl = box.getAttribute("data-help-events");
  var source = box.getAttribute("data-help-source") || "webform";
  var lang = box.getAttribute("data-help-lang") || "ja";
  var form = box.closest("form") || document.querySelector("form");
  var inputs = document.querySelectorAll(box.getAttribute("data-help-inputs") || "textarea");
  var list = box.querySelector("ul");
  var timer = null;
  var lastQuery = "";
  var lastShown = "";
  var wasShown = false;

  function visitor() {
    var name = "madoguchi-help-visitor";
    var id = null;
    try { id = window.localStorage.getItem(name); } catch (e) { id = null; }
    if (!id) {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { window.localStorage.setItem(name, id); } catch (e) { /* private mode: one page only */ }
    }
    return id;
  }

  function send(kind, articleIds) {
    var body = JSON.stringify({ kind: kind, visitor: visitor(), source: source, article_ids: articleIds || [] });
    var blob = new Blob([body], { type: "text/plain" });
    if (!(navigator.sendBeacon && navigator.sendBeacon(eventsUrl, blob))) {
      fetch(eventsUrl, { method: "POST", body: body, headers: { "Content-Type": "text/plain" }, keepalive: true, credentials: "omit" });
    }
  }

  function query() {
    return Array.prototype.map.call(inputs, function (input) { return input.value; }).join(" ").trim().slice(0, 120);
  }

  function render(articles) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    articles.forEach(function (article) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = article.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = article.title;
      link.setAttribute("data-testid", "help-suggestion");
      link.addEventListener("click", function () { send("opened", [article.id]); });
      item.appendChild(link);
      list.appendChild(item);
    });
    box.hidden = articles.length === 0;
    var ids = articles.map(function (article) { return article.id; });
    if (ids.length && ids.join(",") !== lastShown) {
      lastShown = ids.join(",");
      wasShown = true;
      send("shown", ids);
    }
  }

  function lookUp() {
    var text = query();
    if (text.length < 2 || text === lastQuery) {
      return;
    }
    lastQuery = text;
    var url = suggestUrl + "?source=" + encodeURIComponent(source) + "&lang=" + encodeURIComponent(lang) + "&q=" + encodeURIComponent(text);
    fetch(url, { credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : { articles: [] }; })
      .then(function (data) { if (text === lastQuery) { render(data.articles || []); } })
      .catch(function () { /* suggestions are a help, never a hindrance */ });
  }

  Array.prototype.forEach.call(inputs, function (input) {
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookUp, 400);
    });
  });
  if (form) {
    form.addEventListener("submit", function () {
      if (wasShown) { send("contacted", []); }
    });
  }
})();
