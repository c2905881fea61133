// Check-in page: as soon as a red-flag question is answered "Yes", show the
// safety advice next to the questions (the saved check-in shows it again).
(function () {
  "use strict";
  var hint = document.getElementById("red-flag-hint");
  if (!hint) {
    return;
  }
  var radios = document.querySelectorAll(".red-flag-question input[type=radio]");
  function update() {
    var anyYes = false;
    radios.forEach(function (radio) {
      if (radio.checked && radio.value === "yes") { anyYes = true; }
    });
    hint.hidden = !anyYes;
  }
  radios.forEach(function (radio) { radio.addEventListener("change", update); });
  update();
})();
