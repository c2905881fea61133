// Small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // Send a form with fetch and hand its JSON answer to onAnswer. If anything fails (network,
  // a 4xx, the handler itself), post the form the plain way, which shows any error as a page.
  // Today's "Mark … done" buttons and the guided session's "Done" use it.
  window.Holistiq = {
    postForJson: function (form, onAnswer) {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
      }
      return fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(form.action + " " + response.status);
          }
          return response.json();
        })
        .then(onAnswer)
        .catch(function () {
          form.submit();
        });
    },
  };
  // Ask before destructive actions marked with data-confirm.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // "Log out" also turns off this browser's phone notifications: the portal drops those turned on in this
  // sign-in without any script; this drops the browser's own subscription as well (one kept from an earlier
  // sign-in included), so a shared phone stops getting the person's notifications. Sign-out never waits on it
  // for long, and happens whatever the browser answers.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var url = form.getAttribute("data-push-signout");
    if (!url || event.defaultPrevented || form.hasAttribute("data-push-signing-out") || !("serviceWorker" in navigator)) {
      return;
    }
    event.preventDefault();
    form.setAttribute("data-push-signing-out", "");
    var done = false;
    function signOut() {
      if (!done) {
        done = true;
        form.submit();
      }
    }
    window.setTimeout(signOut, 3000);
    navigator.serviceWorker
      .getRegistration("/")
      .then(function (registration) {
        return registration ? registration.pushManager.getSubscription() : null;
      })
      .then(function (subscription) {
        if (!subscription) {
          return null;
        }
        return fetch(url, {
          method: "DELETE",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRFToken": form.querySelector("[name=csrf_token]").value,
          },
          body: JSON.stringify({ endpoint: subscription.endpoint }),
        })
          .catch(function () {})
          .then(function () {
            return subscription.unsubscribe();
          });
      })
      .catch(function () {})
      .then(signOut);
  });
  // Escape closes the open phone menu and gives focus back to its button, as for any disclosure.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var menu = document.querySelector(".navbar-collapse.show");
    if (!menu || !window.bootstrap) {
      return;
    }
    window.bootstrap.Collapse.getOrCreateInstance(menu, { toggle: false }).hide();
    var toggler = document.querySelector('[data-bs-target="#' + menu.id + '"]');
    if (toggler) {
      toggler.focus();
    }
  });
  // A bar stuck to the bottom of the window (the picker's "Add selected") must never hide the
  // control that has focus (WCAG 2.2 "focus not obscured"): scroll the control above the bar.
  // The page's scroll-padding does most of it; browsers do not all honour it for focus moves.
  var stickyFooter = document.querySelector("[data-sticky-footer]");
  if (stickyFooter) {
    // Only what scrolls under the bar: the controls of its own form (the list above it).
    var stuckForm = stickyFooter.closest("form") || document.body;
    document.addEventListener("focusin", function (event) {
      if (stickyFooter.contains(event.target) || !stuckForm.contains(event.target)) {
        return;
      }
      var barTop = stickyFooter.getBoundingClientRect().top;
      var bottom = event.target.getBoundingClientRect().bottom;
      if (bottom > barTop - 8) {
        window.scrollBy({ top: bottom - barTop + 16, behavior: "instant" });
      }
    });
  }
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
