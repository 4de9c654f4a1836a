// The ticket page's knowledge panel: "Insert into reply" puts the article's text into the
// reply box, after what is written. One listener on the document, so the
// panel's htmx re-renders need nothing; loaded once (the panel may be rendered again).
(function () {
  "use strict";
  if (window.madoguchiKnowledgeComposer) {
    return;
  }
  window.madoguchiKnowledgeComposer = true;

  function replyBox() {
    return document.querySelector('[data-testid="reply-form"] textarea[name="body"]');
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-knowledge-insert]") : null;
    if (!button) {
      return;
    }
    event.preventDefault();
    var box = replyBox();
    if (!box) {
      return;
    }
    var text = button.getAttribute("data-knowledge-insert") || "";
    box.value = box.value ? box.value.replace(/\s*$/, "") + "\n\n" + text : text;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
  });
})();
