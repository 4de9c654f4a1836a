// The menu's drop-downs (<details>): one open at a time, closed by a click elsewhere or Esc.
(function () {
  "use strict";
  function openMenus() {
    return document.querySelectorAll("nav.menu details[open]");
  }
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!(opened instanceof HTMLDetailsElement) || !opened.open || !opened.closest("nav.menu")) {
      return;
    }
    openMenus().forEach(function (other) {
      if (other !== opened) other.open = false;
    });
  }, true);
  document.addEventListener("click", function (event) {
    openMenus().forEach(function (details) {
      if (!details.contains(event.target)) details.open = false;
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (details) {
      details.open = false;
      details.querySelector("summary").focus();
    });
  });
})();
