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

  window.gavel = { localize: localize, tick: tick, left: left };
  document.addEventListener("DOMContentLoaded", function () {
    localize();
    tick();
    setInterval(tick, 1000);
  });
})();
