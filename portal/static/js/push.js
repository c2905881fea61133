// "Turn on phone notifications" on the account page: asks the browser for permission, registers the
// service worker (/sw.js), subscribes with the portal's public key and stores the subscription
// (POST /me/push-subscriptions, CSRF token in X-CSRFToken). Testing and turning off are plain forms.
// When this browser's own subscription is in the device list, that device is marked "This browser", the
// button is not offered again, and its "Turn off" also unsubscribes the browser before the form posts.
(function () {
  "use strict";
  var box = document.getElementById("push-setup");
  if (!box) {
    return;
  }
  var button = box.querySelector("[data-push-on]");
  var status = box.querySelector("[data-push-status]");
  var noScript = box.querySelector("[data-push-nojs]");
  if (noScript) {
    noScript.hidden = true;
  }
  function say(text) {
    status.textContent = text;
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(box.getAttribute("data-msg-unsupported"));
    return;
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function store(subscription) {
    return fetch(box.getAttribute("data-subscribe-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": box.getAttribute("data-csrf"),
      },
      body: JSON.stringify(subscription.toJSON()),
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("subscription not stored: " + response.status);
      }
    });
  }

  function deviceOf(subscription) {
    var items = box.querySelectorAll("[data-push-endpoint]");
    for (var i = 0; i < items.length; i += 1) {
      if (items[i].getAttribute("data-push-endpoint") === subscription.endpoint) {
        return items[i];
      }
    }
    return null;
  }

  function markThisBrowser(item, subscription) {
    item.querySelector("[data-push-this]").hidden = false;
    say(box.getAttribute("data-msg-on-here"));
    if (!item.hasAttribute("data-push-this-sign-in")) {
      // Turned on in an earlier sign-in that ran out of time: tie it to this one, so signing out turns it off.
      store(subscription).catch(function () {});
    }
    var off = item.querySelector("[data-push-off]");
    off.addEventListener("submit", function (event) {
      event.preventDefault();
      // The browser forgets it too; the plain form still tells the portal, whatever the browser answers.
      subscription
        .unsubscribe()
        .catch(function () {})
        .then(function () {
          off.submit();
        });
    });
  }

  navigator.serviceWorker
    .getRegistration("/")
    .then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    })
    .then(function (subscription) {
      var item = subscription && deviceOf(subscription);
      if (item) {
        markThisBrowser(item, subscription);
      } else {
        button.hidden = false;
      }
    })
    .catch(function () {
      button.hidden = false;
    });

  button.addEventListener("click", function () {
    button.disabled = true;
    say(box.getAttribute("data-msg-working"));
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") {
          throw new Error("denied");
        }
        return navigator.serviceWorker.register(box.getAttribute("data-worker-url"), { scope: "/" });
      })
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function (registration) {
        return fetch(box.getAttribute("data-key-url"), { credentials: "same-origin" })
          .then(function (response) {
            return response.json();
          })
          .then(function (answer) {
            return registration.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey: keyBytes(answer.public_key),
            });
          });
      })
      .then(store)
      .then(function () {
        window.location.reload();
      })
      .catch(function (error) {
        button.disabled = false;
        say(box.getAttribute(error.message === "denied" ? "data-msg-denied" : "data-msg-failed"));
      });
  });
})();
