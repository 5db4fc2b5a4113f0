// Small progressive enhancements: local times and ticking countdowns. The site works without it.
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function localize(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.textContent = fmt.format(d); el.title = d.toISOString(); }
    });
  }

  // Offset between the server's clock and this device's, set by live.js when it hears the server.
  window.gavelClockSkew = window.gavelClockSkew || 0;

  function left(ms) {
    if (ms <= 0) return "ended";
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24,
        m = Math.floor(s / 60) % 60, sec = s % 60;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + two(m) + "m";
    return m + "m " + two(sec) + "s";
  }

  function tick() {
    var now = Date.now() + window.gavelClockSkew;
    document.querySelectorAll("[data-ends-at]").forEach(function (el) {
      var end = Date.parse(el.getAttribute("data-ends-at"));
      if (!isNaN(end)) el.textContent = left(end - now);
    });
  }

  // Photograph uploads on /sell: a preview of the chosen file and a progress bar; the form
  // still posts as a plain multipart form without this.
  function enhanceUpload(form) {
    var input = form.querySelector("input[type=file]");
    var preview = form.querySelector(".upload-preview");
    var bar = form.querySelector(".upload-progress");
    var error = form.querySelector(".upload-error");
    if (!input || !window.XMLHttpRequest || !window.FormData) return;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (preview && file && window.URL && URL.createObjectURL) {
        preview.src = URL.createObjectURL(file);
        preview.hidden = false;
      }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (p) {
        if (p.lengthComputable && bar) { bar.hidden = false; bar.value = Math.round(100 * p.loaded / p.total); }
      };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (_) {}
        if (xhr.status >= 200 && xhr.status < 300 && body.location) {
          window.location.assign(body.location);
          return;
        }
        if (bar) bar.hidden = true;
        if (error) {
          error.textContent = (body.error && body.error.message) || "The upload failed; try again.";
          error.hidden = false;
        }
      };
      xhr.onerror = function () {
        if (bar) bar.hidden = true;
        if (error) { error.textContent = "The upload failed; check your connection."; error.hidden = false; }
      };
      if (error) error.hidden = true;
      xhr.send(new FormData(form));
    });
  }

  // The lot page's gallery: a thumbnail shows its photograph in place (a plain link without this).
  function enhanceGallery(gallery) {
    var main = gallery.querySelector("[data-role=gallery-main]");
    gallery.querySelectorAll("a[data-full]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        if (!main) return;
        e.preventDefault();
        main.src = a.getAttribute("data-full");
        main.width = +a.getAttribute("data-width");
        main.height = +a.getAttribute("data-height");
        main.alt = a.querySelector("img").alt;
        main.parentNode.href = a.href;
        gallery.querySelectorAll("a[aria-current]").forEach(function (o) { o.removeAttribute("aria-current"); });
        a.setAttribute("aria-current", "true");
      });
    });
  }

  window.gavel = { localize: localize, tick: tick, left: left };
  document.addEventListener("DOMContentLoaded", function () {
    localize();
    tick();
    setInterval(tick, 1000);
    document.querySelectorAll("form[data-upload]").forEach(enhanceUpload);
    document.querySelectorAll("#gallery").forEach(enhanceGallery);
    // Times typed into the sale form are the admin's own: tell the server their zone.
    document.querySelectorAll("[data-role=tz-offset]").forEach(function (el) {
      el.value = String(new Date().getTimezoneOffset());
    });
    document.querySelectorAll("[data-role=tz-name]").forEach(function (el) {
      try { el.textContent = "(" + Intl.DateTimeFormat().resolvedOptions().timeZone + ")"; } catch (_) {}
    });
  });
})();
