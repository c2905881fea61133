// Small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // Ask before destructive actions marked with data-confirm.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // A confirmation shown beside a list (items added or removed): move focus there, so it is in view
  // and read out, instead of leaving the coach at the top of the page.
  // After "load": the browser's jump to the #anchor of the list comes first and would take focus back.
  var listFlash = document.querySelector("[data-list-flash]");
  if (listFlash) {
    window.addEventListener("load", function () {
      listFlash.focus();
    });
  }
})();
