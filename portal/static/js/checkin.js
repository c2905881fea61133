// Check-in page: as soon as a red-flag question is answered "Yes", show the safety advice of the highest tier
// answered (Emergency, then Today, then Soon) next to the questions, unless the saved check-in's advice at the top
// of the page is already that tier's.
(function () {
  "use strict";
  var hint = document.getElementById("red-flag-hint");
  if (!hint) {
    return;
  }
  var order = ["emergency", "today", "soon"];  // highest first, as portal.care.red_flags ranks them
  var questions = document.querySelectorAll(".red-flag-question");
  function update() {
    var answered = {};
    questions.forEach(function (question) {
      var yes = question.querySelector("input[type=radio][value=yes]");
      if (yes && yes.checked) { answered[question.getAttribute("data-tier")] = true; }
    });
    var shown = null;
    order.forEach(function (tier) {
      if (shown === null && answered[tier]) { shown = tier; }
    });
    if (shown === hint.getAttribute("data-saved-tier")) {
      shown = null;  // the saved check-in's advice already shows at the top of the page
    }
    order.forEach(function (tier) {
      var box = document.getElementById("red-flag-hint-" + tier);
      if (box) { box.hidden = tier !== shown; }
    });
    hint.hidden = shown === null;
  }
  questions.forEach(function (question) {
    question.querySelectorAll("input[type=radio]").forEach(function (radio) {
      radio.addEventListener("change", update);
    });
  });
  update();
})();
