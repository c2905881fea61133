// The portal's service worker, served from the site root (/sw.js) so it covers every page.
// It only shows the notifications the portal pushes and opens their page on tap; it caches nothing
// (signed-in pages hold health data and are never stored). Links outside the portal are never opened.
"use strict";

function portalUrl(url) {
  try {
    var parsed = new URL(url, self.location.origin);
    if (parsed.origin === self.location.origin) {
      return parsed.href;
    }
  } catch (error) {
    // not a URL: fall through to the home page
  }
  return self.location.origin + "/";
}

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("push", function (event) {
  var data = {};
  if (event.data) {
    try {
      data = event.data.json();
    } catch (error) {
      data = { body: event.data.text() };
    }
  }
  var title = typeof data.title === "string" && data.title ? data.title : "Holistiq Coach";
  var body = typeof data.body === "string" ? data.body : "";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: body,
      icon: "/static/icons/icon-192.png",
      badge: "/static/icons/icon-192.png",
      data: { url: portalUrl(data.url) },
    })
  );
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = portalUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i += 1) {
        if (windows[i].url === target && "focus" in windows[i]) {
          return windows[i].focus();
        }
      }
      return self.clients.openWindow(target);
    })
  );
});
