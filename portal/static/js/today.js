// Today: marking an item done sends the same form POST with fetch, replaces the card in
// place and announces the confirmation in the live region next to the cards. Without
// JavaScript the form posts and the page reloads at #item-N; then focus goes back there.
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

  var announce = document.getElementById("today-announce");
  var progressLine = document.getElementById("today-progress");
  var progressBar = document.querySelector("progress.today-progress");

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-mark-form]") || !announce) {
      return;
    }
    event.preventDefault();
    var card = form.closest("li.card-item");
    window.Holistiq.postForJson(form, function (answer) {
      var holder = document.createElement("ul");
      holder.innerHTML = answer.card;
      var fresh = holder.firstElementChild;
      card.replaceWith(fresh);
      fresh.querySelector("form button[type=submit]").focus();
      if (progressLine) {
        progressLine.textContent = answer.progress;
      }
      if (progressBar) {
        progressBar.value = answer.sessions_done;
      }
      announce.textContent = answer.message;
    });
  });
})();
