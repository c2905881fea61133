// Progress charts: draws Chart.js charts from the page's JSON ([data-chart], else fetched from [data-chart-url]).
// The page already shows a text summary and a table for each chart, so if this
// script or the data fails, nothing is lost but the pictures.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") {
    return;
  }
  var BRAND = "#0b5563";
  var ORANGE = "#b35c00";
  var GREEN = "#1e7b45";
  var PURPLE = "#6a3d9a";

  // Words come from the page (data-label-*), in the reader's language; dates in the page's language.
  var labels = {};
  var lang;

  function shortDate(iso) {
    var parts = iso.split("-");
    var d = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
    return d.toLocaleDateString(lang, { month: "short", day: "numeric" });
  }

  function weekOf(iso) {
    return (labels.weekOf || "{day}").replace("{day}", shortDate(iso));
  }

  function baseOptions(yMax, yTitle) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      spanGaps: true,
      interaction: { mode: "index", intersect: false },
      scales: {
        y: { min: 0, max: yMax, title: { display: true, text: yTitle }, ticks: { precision: 0 } },
        x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } }
      },
      plugins: { legend: { position: "bottom" } }
    };
  }

  var builders = {
    pain: function (data) {
      return {
        type: "line",
        data: {
          labels: data.daily.labels.map(shortDate),
          datasets: [
            { label: labels.pain, data: data.daily.pain, borderColor: BRAND, backgroundColor: BRAND, tension: 0.2 },
            { label: labels.stiffness, data: data.daily.stiffness, borderColor: ORANGE, backgroundColor: ORANGE,
              borderDash: [6, 4], tension: 0.2 }
          ]
        },
        options: baseOptions(10, "0–10")
      };
    },
    spasms: function (data) {
      var opts = baseOptions(undefined, labels.episodes);
      delete opts.scales.y.max;
      return {
        type: "bar",
        data: {
          labels: data.daily.labels.map(shortDate),
          datasets: [{ label: labels.spasms, data: data.daily.spasms, backgroundColor: PURPLE }]
        },
        options: opts
      };
    },
    adherence: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.adherence.labels.map(weekOf),
          datasets: [{ label: labels.adherence, data: data.adherence.percent, backgroundColor: GREEN }]
        },
        options: baseOptions(100, "%")
      };
    },
    goals: function (data) {
      // One line per activity the patient rated (PSFS, 0-10), over the days they rated them.
      var colours = [BRAND, ORANGE, GREEN, PURPLE];
      return {
        type: "line",
        data: {
          labels: data.goals.labels.map(shortDate),
          datasets: data.goals.series.map(function (series, n) {
            var colour = colours[n % colours.length];
            return { label: series.label, data: series.data, borderColor: colour, backgroundColor: colour, tension: 0 };
          })
        },
        options: baseOptions(10, "0–10")
      };
    },
    peg: function (data) {
      return {
        type: "line",
        data: {
          labels: data.peg.labels.map(weekOf),
          datasets: [{ label: labels.peg, data: data.peg.score, borderColor: BRAND, backgroundColor: BRAND }]
        },
        options: baseOptions(10, "0–10")
      };
    }
  };

  function draw(container) {
    var d = container.dataset;
    // Each container's own words: a page can hold several containers, whose data arrive in any order.
    var ownLang = d.lang || undefined;
    var ownLabels = {
      pain: d.labelPain, stiffness: d.labelStiffness, episodes: d.labelEpisodes, spasms: d.labelSpasms,
      adherence: d.labelAdherence, peg: d.labelPeg, weekOf: d.labelWeekOf
    };
    // The page carries its data (data-chart); the URL is only read when it does not.
    var embedded = container.getAttribute("data-chart");
    var loaded = embedded
      ? new Promise(function (resolve) { resolve(JSON.parse(embedded)); })
      : fetch(container.getAttribute("data-chart-url"), {
          credentials: "same-origin", headers: { Accept: "application/json" }
        }).then(function (response) {
          if (!response.ok) { throw new Error("chart data: HTTP " + response.status); }
          return response.json();
        });
    loaded
      .then(function (data) {
        lang = ownLang;
        labels = ownLabels;
        container.querySelectorAll("canvas[data-series]").forEach(function (canvas) {
          var build = builders[canvas.getAttribute("data-series")];
          if (build) {
            new window.Chart(canvas, build(data));
            canvas.setAttribute("data-drawn", "true");
          }
        });
      })
      .catch(function () {
        container.querySelectorAll(".chart-box").forEach(function (box) {
          box.classList.add("d-none");
        });
      });
  }

  document.querySelectorAll("[data-chart-url]").forEach(draw);
})();
