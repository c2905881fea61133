// The Outcomes page: draws its charts (Chart.js) and changes the figures in place when a filter
// changes. Without this script the filter form is a plain GET form, and every chart already has
// its text summary and table on the page.
(function () {
  "use strict";
  var BRAND = "#0b5563";
  var COLOURS = ["#0b5563", "#b35c00", "#6a3d9a", "#1e7b45", "#a61b29", "#3b5ba5", "#6b6b00", "#8a3b12"];
  var GREEN = "#1e7b45";
  var GREY = "#6c757d";
  var RED = "#a61b29";
  var charts = [];

  function translucent(hex) {
    return hex + "33"; // the band: the line's colour at 20 % opacity
  }

  function axes(xTitle, yTitle, yMax) {
    return {
      x: { title: { display: true, text: xTitle }, ticks: { maxRotation: 0, autoSkip: true } },
      y: { min: 0, max: yMax, title: { display: true, text: yTitle } }
    };
  }

  var builders = {
    weekly: function (data, words) {
      var datasets = [];
      data.series.forEach(function (series, index) {
        var colour = COLOURS[index % COLOURS.length];
        // The band: the lower quartile, then the upper one filled down to it.
        datasets.push({ label: series.label + " – Q1", data: series.q1, borderWidth: 0, pointRadius: 0,
          backgroundColor: translucent(colour), fill: false, spanGaps: true, bandOf: series.label });
        datasets.push({ label: series.label + " – " + words.band, data: series.q3, borderWidth: 0, pointRadius: 0,
          backgroundColor: translucent(colour), fill: "-1", spanGaps: true, bandOf: series.label });
        datasets.push({ label: series.label, data: series.median, borderColor: colour, backgroundColor: colour,
          borderWidth: 2, tension: 0.2, spanGaps: true, fill: false,
          borderDash: index === 0 ? [] : [6, 3 + index] });
      });
      return {
        type: "line",
        data: { labels: data.weeks, datasets: datasets },
        options: {
          scales: axes(words.week, words.pain, 10),
          plugins: {
            legend: { position: "bottom", labels: { filter: function (item, chart) {
              return !chart.datasets[item.datasetIndex].bandOf;
            } } }
          }
        }
      };
    },
    shares: function (data, words) {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: words.improved, data: data.improved, backgroundColor: GREEN },
            { label: words.unchanged, data: data.unchanged, backgroundColor: GREY },
            { label: words.worse, data: data.worse, backgroundColor: RED }
          ]
        },
        options: {
          indexAxis: "y",
          scales: {
            x: { stacked: true, min: 0, max: 100, title: { display: true, text: words.share } },
            // Long names are shortened on the axis (the table below the chart has them whole).
            y: { stacked: true, ticks: { autoSkip: false, callback: function (value) {
              var label = this.getLabelForValue(value);
              var room = window.innerWidth < 576 ? 16 : 40;
              return label.length > room ? label.slice(0, room - 1) + "…" : label;
            } } }
          },
          plugins: { legend: { position: "bottom" } }
        }
      };
    },
    adherence: function (data, words) {
      return {
        type: "bar",
        data: { labels: data.labels, datasets: [{ label: words.patients, data: data.counts, backgroundColor: BRAND }] },
        options: {
          scales: axes(words.adherence, words.patients),
          plugins: { legend: { display: false } }
        }
      };
    }
  };

  function drawAll() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    if (typeof window.Chart === "undefined") {
      return;
    }
    document.querySelectorAll(".outcome-charts").forEach(function (box) {
      var d = box.dataset;
      var words = {
        week: d.labelWeek, pain: d.labelPain, band: d.labelBand, share: d.labelShare, improved: d.labelImproved,
        unchanged: d.labelUnchanged, worse: d.labelWorse, adherence: d.labelAdherence, patients: d.labelPatients
      };
      box.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
        var data = JSON.parse(canvas.getAttribute("data-chart"));
        var config = builders[data.kind](data, words);
        config.options.responsive = true;
        config.options.maintainAspectRatio = false;
        config.options.animation = false;
        charts.push(new window.Chart(canvas, config));
        canvas.setAttribute("data-drawn", "true");
      });
    });
  }

  // --- filters: the same GET, its answer swapped in without leaving the page ---------------------
  function addressOf(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (value !== "") {
        params.append(name, value);
      }
    });
    var query = params.toString();
    return form.action + (query ? "?" + query : "");
  }

  function swapIn(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    ["outcome-filters", "outcome-results"].forEach(function (id) {
      var now = document.getElementById(id);
      var next = fresh.getElementById(id);
      if (now && next) {
        now.replaceWith(document.importNode(next, true));
      }
    });
    bindForm();
    drawAll();
  }

  function load(url, push) {
    var results = document.getElementById("outcome-results");
    if (results) {
      results.setAttribute("aria-busy", "true");
    }
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        // A 400 carries the form with its messages beside the fields: shown like a success.
        if (!response.ok && response.status !== 400) {
          throw new Error("outcomes: HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (push) {
          window.history.pushState({ outcomes: true }, "", url);
        }
        swapIn(html);
      })
      .catch(function () {
        window.location.assign(url);
      });
  }

  function bindForm() {
    var form = document.getElementById("outcome-filters");
    if (!form) {
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      load(addressOf(form), true);
    });
    form.addEventListener("change", function (event) {
      // Lists change at once; dates only once both are whole dates (typing one goes through partial states).
      if (event.target.tagName === "SELECT" || event.target.value === "" || /^\d{4}-\d{2}-\d{2}$/.test(event.target.value)) {
        load(addressOf(form), true);
      }
    });
  }

  window.addEventListener("popstate", function () {
    load(window.location.href, false);
  });

  // Printing: open every table alternative first, so the paper has the figures as well as the pictures.
  var reopened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("#outcome-results details:not([open])").forEach(function (details) {
      details.open = true;
      reopened.push(details);
    });
  });
  window.addEventListener("afterprint", function () {
    reopened.forEach(function (details) { details.open = false; });
    reopened = [];
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });

  bindForm();
  drawAll();
})();
