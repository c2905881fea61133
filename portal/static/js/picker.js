// The library picker: filter the rows as the coach types, without reloading the page.
// The server renders every row and hides those its GET search left out, so the page works
// without this script; here the same filter (words in the title or summary, kind, body area)
// runs on each keystroke and the search is kept in the URL, so a reload shows the same rows.
(function () {
  "use strict";
  var search = document.querySelector("[data-picker-search]");
  var list = document.querySelector("[data-picker-list]");
  var addForm = document.querySelector("[data-picker-form]");
  if (!search || !list || !addForm) {
    return;
  }
  var rows = Array.prototype.slice.call(list.querySelectorAll("li[data-text]"));
  var count = document.querySelector("[data-picker-count]");
  var selected = document.querySelector("[data-picker-selected]");
  var empty = document.querySelector("[data-picker-empty]");
  var fields = { q: search.elements.q, kind: search.elements.kind, area: search.elements.area };
  var addAction = addForm.getAttribute("action").split("?")[0];

  function words(element, n) {
    var template = n === 1 ? element.getAttribute("data-one") : element.getAttribute("data-other");
    return template.replace("{n}", String(n));
  }

  function query() {
    var params = new URLSearchParams();
    var text = fields.q.value.trim();
    if (text) {
      params.set("q", text);
    }
    if (fields.kind.value) {
      params.set("kind", fields.kind.value);
    }
    if (fields.area.value) {
      params.set("area", fields.area.value);
    }
    return params.toString();
  }

  function countSelected() {
    var n = list.querySelectorAll("input[type=checkbox]:checked").length;
    selected.textContent = n ? words(selected, n) : "";
  }

  function apply() {
    var text = fields.q.value.trim().toLowerCase();
    var kind = fields.kind.value;
    var area = fields.area.value;
    var shown = 0;
    rows.forEach(function (row) {
      var box = row.querySelector("input[type=checkbox]");
      var match =
        (!kind || row.getAttribute("data-kind") === kind) &&
        (!area || row.getAttribute("data-area") === area) &&
        (!text || row.getAttribute("data-text").indexOf(text) !== -1);
      // A ticked item stays in view: narrowing the search never hides what is about to be added.
      var visible = match || box.checked;
      row.hidden = !visible;
      if (visible) {
        shown += 1;
      }
    });
    count.textContent = words(count, shown);
    empty.hidden = shown > 0;
    var qs = query();
    window.history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : ""));
    addForm.setAttribute("action", addAction + (qs ? "?" + qs : ""));
  }

  search.addEventListener("input", apply);
  search.addEventListener("change", apply);
  search.addEventListener("submit", function (event) {
    event.preventDefault(); // already applied: a reload would lose the ticks
    apply();
  });
  list.addEventListener("change", countSelected);
  countSelected();
})();
