// "Turn on phone notifications" on the account page: asks the browser for permission, registers the
// service worker (/sw.js), subscribes with the portal's public key and stores the subscription
// (POST /me/push-subscriptions, CSRF token in X-CSRFToken). Testing and turning off are plain forms.
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
  button.hidden = false;

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
