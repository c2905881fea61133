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

  // A card's drawing opens large in a dialog. Escape, "Close" and the back button close it: opening
  // adds a history entry, so "back" on a phone closes the picture instead of leaving Today.
  var dialog = document.getElementById("picture-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    var dialogImage = dialog.querySelector("img");
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-zoom]");
      if (!link) {
        return;
      }
      event.preventDefault();
      var picture = link.querySelector("img");
      var card = link.closest("li.card-item");
      var title = card && card.querySelector(".item-title");
      dialog.querySelector("#picture-dialog-title").textContent = title ? title.firstChild.textContent.trim() : "";
      dialogImage.src = picture.getAttribute("src");
      dialogImage.alt = picture.alt;
      dialog.querySelector("[data-picture-alt]").textContent = picture.alt;
      dialog.returnFocusTo = link;
      dialog.showModal();
      window.history.pushState({ picture: true }, "", "#picture");
    });
    dialog.addEventListener("close", function () {
      if (window.history.state && window.history.state.picture) {
        window.history.back();
      }
      if (dialog.returnFocusTo) {
        dialog.returnFocusTo.focus();
      }
    });
    window.addEventListener("popstate", function () {
      if (dialog.open) {
        dialog.close();
      }
    });
  }

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
