// Today: after marking an item done (a normal form POST and redirect to #item-N),
// put keyboard focus back on that item's button so the person keeps their place.
(function () {
  "use strict";
  function restoreFocus() {
    var match = /^#item-(\d+)$/.exec(window.location.hash);
    var card = match && document.getElementById("item-" + match[1]);
    var button = card && card.querySelector("form button[type=submit]");
    if (button) {
      button.focus();
    }
  }
  // After "load": the browser's own jump to the #item anchor must not undo it.
  window.addEventListener("load", restoreFocus);
})();
