// The guided session: reveal the hold timer and rep counter, and move between steps
// without reloading (fetch of the same form POST and of the next step's page). Without
// JavaScript each step is a page and "Done" a plain form post, so everything here is extra.
(function () {
  "use strict";
  var timer = null;

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) {
      return;
    }
    var audio = new Context();
    var tone = audio.createOscillator();
    tone.frequency.value = 660;
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.4);
  }

  function setUpTools(root) {
    var tools = root.querySelector("[data-tools]");
    if (!tools) {
      return;
    }
    tools.hidden = false;
    var announce = tools.querySelector("[data-timer-announce]");
    var start = tools.querySelector("[data-timer-start]");
    var shown = tools.querySelector("[data-countdown]");
    var hold = parseInt(tools.dataset.hold, 10) || 0;
    if (start && shown && hold > 0) {
      // One button: "Start timer", then "Pause timer" while it runs and "Resume timer" while
      // paused; the time shows as minutes and seconds ("3:00", "0:45").
      var left = hold;
      var running = false;
      var clock = function (seconds) {
        var whole = Math.max(seconds, 0);
        var rest = whole % 60;
        return Math.floor(whole / 60) + ":" + (rest < 10 ? "0" : "") + rest;
      };
      var stop = function () {
        window.clearInterval(timer);
        timer = null;
        running = false;
      };
      start.addEventListener("click", function () {
        if (running) {
          stop();
          start.textContent = tools.dataset.labelResume;
          return;
        }
        if (left <= 0) {
          left = hold;
        }
        running = true;
        start.textContent = tools.dataset.labelPause;
        shown.textContent = clock(left);
        announce.textContent = tools.dataset.msgLeft.replace("{seconds}", String(left));
        window.clearInterval(timer);
        timer = window.setInterval(function () {
          left -= 1;
          shown.textContent = clock(left);
          if (left <= 0) {
            stop();
            start.textContent = tools.dataset.labelStart;
            announce.textContent = tools.dataset.msgUp;
            var sound = tools.querySelector("[data-timer-sound]");
            if (sound && sound.checked) {
              beep();
            }
          }
        }, 1000);
      });
    }
    var counter = tools.querySelector("[data-count-rep]");
    var countText = tools.querySelector("[data-count-text]");
    var reps = parseInt(tools.dataset.reps, 10) || 1;
    if (counter && countText) {
      var rep = 0;
      var set = 1;
      counter.addEventListener("click", function () {
        if (rep >= reps) {
          rep = 0;
          set += 1;
        }
        rep += 1;
        var text = tools.dataset.msgCount.replace("{rep}", String(rep)).replace("{set}", String(set));
        countText.textContent = text;
        announce.textContent = text;
      });
    }
  }

  function show(url, push) {
    return fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("step " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html");
        var fresh = next.getElementById("session");
        var current = document.getElementById("session");
        if (!fresh || !current) {
          window.location.assign(url);
          return;
        }
        window.clearInterval(timer);
        current.replaceWith(fresh);
        document.title = next.title;
        if (push) {
          window.history.pushState({ session: true }, "", url);
          shownAddress = window.location.pathname + window.location.search;
        }
        var heading = fresh.querySelector("h1");
        if (heading) {
          heading.setAttribute("tabindex", "-1");
          heading.focus();
        }
        setUp(fresh);
      });
  }

  function setUp(root) {
    setUpTools(root);
    var form = root.querySelector("[data-session-done]");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        window.Holistiq.postForJson(form, function (answer) {
          return show(answer.next, true);
        });
      });
    }
    var skip = root.querySelector("[data-session-skip]");
    if (skip) {
      skip.addEventListener("click", function (event) {
        event.preventDefault();
        show(skip.href, true).catch(function () {
          window.location.assign(skip.href);
        });
      });
    }
  }

  // Back and forward between movements load the movement the address names. A jump within the
  // page (the "Skip to content" link, #main) also fires popstate but changes only the fragment:
  // that is no other movement, and reloading would throw the patient's place away.
  var shownAddress = window.location.pathname + window.location.search;
  window.addEventListener("popstate", function () {
    var address = window.location.pathname + window.location.search;
    if (address === shownAddress) {
      return;
    }
    window.location.reload();
  });
  var root = document.getElementById("session");
  if (root) {
    setUp(root);
  }
})();
