// Live updates: EventSource by default, long polling after repeated stream failures or with
// ?transport=longpoll. Reads its cursor from the page so nothing between render and subscribe
// is lost. Plain JavaScript, no build step; the page works without it.
(function () {
  "use strict";
  var body = document.body;
  var lotRoot = document.querySelector("article.lot[data-cursor]");
  var listRoot = document.querySelector("[data-live-list][data-cursor]");
  var root = lotRoot || listRoot;
  if (!root) return;

  var currency = body.getAttribute("data-currency") || "EUR";
  var money;
  try { money = new Intl.NumberFormat("en-US", { style: "currency", currency: currency }); }
  catch (e) { money = { format: function (n) { return currency + " " + n.toFixed(2); } }; }
  function fmt(cents) { return money.format(cents / 100); }

  var lotId = lotRoot ? lotRoot.getAttribute("data-lot-id") : null;
  var cursor = parseInt(root.getAttribute("data-cursor"), 10) || 0;
  var forced = new URLSearchParams(location.search).get("transport");
  var statusEl = document.getElementById("live-status");
  var TYPES = ["opened", "bid", "extended", "closed", "cancelled"];

  // The countdown follows the server's clock: skew = server time - device time.
  var serverNow = Date.parse(body.getAttribute("data-server-now"));
  if (!isNaN(serverNow)) window.gavelClockSkew = serverNow - Date.now();

  function setState(state) {
    if (!statusEl) return;
    statusEl.setAttribute("data-state", state);
    statusEl.textContent = state === "live" ? "Live" : state === "reconnecting" ? "Reconnecting…" : "Offline: reload for news";
  }

  function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; return el; }
  function flash(el) { if (!el) return; el.classList.remove("flash"); void el.offsetWidth; el.classList.add("flash"); }

  function showLot(lot) {
    var price = lot.current_price_cents != null ? lot.current_price_cents : lot.starting_price_cents;
    var priceEl = document.getElementById("current-price");
    if (priceEl && priceEl.getAttribute("data-cents") !== String(price)) {
      priceEl.setAttribute("data-cents", price);
      priceEl.textContent = fmt(price);
      flash(priceEl);
    }
    text("min-next-bid", fmt(lot.min_next_bid_cents));
    text("bid-count", lot.bid_count);
    if (lot.leader) text("leader", lot.leader.username);
    var help = document.getElementById("bid-help");
    if (help) help.textContent = "Enter " + fmt(lot.min_next_bid_cents) + " or more.";
    var amount = document.getElementById("amount");
    if (amount) amount.placeholder = (lot.min_next_bid_cents / 100).toFixed(2);
    var cd = document.getElementById("countdown");
    if (cd && lot.ends_at) cd.setAttribute("data-ends-at", lot.ends_at);
    if (lot.status === "closed" || lot.status === "cancelled") finish(lot);
    if (window.gavel) window.gavel.tick();
  }

  function finish(lot) {
    root.setAttribute("data-status", lot.status);
    var form = document.getElementById("bid-form");
    if (form) {
      form.querySelectorAll("input, button").forEach(function (el) { el.disabled = true; });
      form.setAttribute("aria-disabled", "true");
    }
    var result = document.getElementById("result");
    if (!result) return;
    result.hidden = false;
    result.textContent = "";
    var p = document.createElement("p");
    var strong = document.createElement("strong");
    if (lot.status === "cancelled") {
      strong.textContent = "Cancelled";
      p.appendChild(strong);
      p.appendChild(document.createTextNode(" by the auction house; no sale."));
    } else if (lot.winner) {
      strong.textContent = "Sold";
      p.appendChild(strong);
      p.appendChild(document.createTextNode(" to "));
      var w = document.createElement("span");
      w.id = "winner";
      w.textContent = lot.winner.username;
      p.appendChild(w);
      p.appendChild(document.createTextNode(" for " + fmt(lot.final_price_cents) + "."));
    } else {
      strong.textContent = "Closed";
      p.appendChild(strong);
      p.appendChild(document.createTextNode(" without a winner" + (lot.bid_count > 0 ? ": the reserve was not met." : ".")));
    }
    result.appendChild(p);
    var cd = document.getElementById("countdown");
    if (cd) { cd.removeAttribute("data-ends-at"); cd.textContent = "ended"; }
  }

  function addBid(bid) {
    var list = document.getElementById("bid-history");
    if (!list || list.querySelector('[data-bid-id="' + bid.id + '"]')) return;
    var li = document.createElement("li");
    li.setAttribute("data-bid-id", bid.id);
    var who = document.createElement("span"); who.className = "who"; who.textContent = bid.bidder.username;
    var amt = document.createElement("span"); amt.className = "amount"; amt.textContent = fmt(bid.amount_cents);
    var t = document.createElement("time"); t.setAttribute("datetime", bid.placed_at); t.setAttribute("data-local", "");
    t.textContent = bid.placed_at;
    li.appendChild(who); li.appendChild(amt); li.appendChild(t);
    list.insertBefore(li, list.firstChild);
    var none = document.getElementById("no-bids");
    if (none) none.remove();
    if (window.gavel) window.gavel.localize(li);
    flash(li);
  }

  function updateCard(ev) {
    var card = listRoot.querySelector('[data-lot-id="' + ev.lot_id + '"]');
    var lot = ev.lot;
    if (!card) return;
    var price = lot.current_price_cents != null ? lot.current_price_cents : lot.starting_price_cents;
    var p = card.querySelector("[data-role=price]");
    if (p && p.getAttribute("data-cents") !== String(price)) {
      p.setAttribute("data-cents", price); p.textContent = fmt(price); flash(p);
    }
    var label = card.querySelector(".card-price .label");
    if (label && lot.current_price_cents != null) label.textContent = "Current bid";
    var count = card.querySelector("[data-role=bid-count]");
    if (count) count.textContent = lot.bid_count;
    var cd = card.querySelector("[data-role=countdown]");
    if (cd) {
      if (lot.status === "open" && lot.ends_at) cd.setAttribute("data-ends-at", lot.ends_at);
      else { cd.removeAttribute("data-ends-at"); cd.textContent = lot.status; card.classList.add("ended"); }
    }
  }

  function apply(ev) {
    if (!ev || ev.id <= cursor) return;
    cursor = ev.id;
    var at = Date.parse(ev.at);
    if (!isNaN(at) && (ev.type === "bid" || ev.type === "extended")) {
      // An event just committed: its time is (about) the server's now.
      window.gavelClockSkew = at - Date.now();
    }
    if (lotRoot) {
      if (ev.lot_id !== lotId) return;
      if (ev.bid) addBid(ev.bid);
      showLot(ev.lot);
    } else {
      updateCard(ev);
    }
  }

  function presence(data) {
    try { var p = JSON.parse(data); if (!lotId || p.lot_id === lotId) text("watchers", p.watchers); } catch (e) {}
  }

  var streamUrl = lotRoot ? "/lots/" + lotId + "/events" : "/events";
  var pollUrl = lotRoot ? "/lots/" + lotId + "/poll" : "/poll";
  var es = null, failures = 0, stopped = false;

  function startStream() {
    es = new EventSource(streamUrl + "?after=" + cursor);
    es.onopen = function () { failures = 0; setState("live"); };
    TYPES.forEach(function (t) {
      es.addEventListener(t, function (m) { try { apply(JSON.parse(m.data)); } catch (e) {} });
    });
    es.addEventListener("presence", function (m) { presence(m.data); });
    es.onerror = function () {
      failures += 1;
      setState("reconnecting");
      if (failures >= 4 || es.readyState === EventSource.CLOSED) {
        // Repeated failures: the network may not pass streams. Fall back to long polling,
        // resuming from the last event applied.
        es.close();
        es = null;
        if (failures >= 4) startPolling(); else setTimeout(startStream, 2000);
      }
    };
  }

  function startPolling() {
    var delay = 1000, first = true;
    function loop() {
      if (stopped) return;
      // The first poll answers at once, so the page knows it is connected.
      var wait = first ? 0 : 25;
      first = false;
      fetch(pollUrl + "?after=" + cursor + "&timeout=" + wait, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error("status " + r.status); return r.json(); })
        .then(function (data) {
          setState("live");
          delay = 1000;
          (data.events || []).forEach(apply);
          if (typeof data.cursor === "number" && data.cursor > cursor) cursor = data.cursor;
          loop();
        })
        .catch(function () {
          setState(navigator.onLine === false ? "offline" : "reconnecting");
          first = true;
          setTimeout(loop, delay);
          delay = Math.min(delay * 2, 10000);
        });
    }
    loop();
  }

  if (forced === "longpoll" || !window.EventSource) startPolling(); else startStream();
  window.addEventListener("pagehide", function () { stopped = true; if (es) es.close(); });

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  // The bid form posts with fetch and shows a refusal inline; without JavaScript it posts normally.
  var form = document.getElementById("bid-form");
  if (form && window.fetch) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var err = document.getElementById("bid-error");
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString(),
        credentials: "same-origin"
      }).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).then(function (res) {
        // Answered: the next bid is a new request. (After a lost connection the key stays, so
        // sending again cannot place the bid twice.)
        var key = form.elements.idempotency_key;
        if (key) key.defaultValue = key.value = newKey();
        if (res.ok) {
          if (err) { err.hidden = true; err.textContent = ""; }
          form.reset();
          if (res.data.bid) addBid(res.data.bid);
          if (res.data.lot) showLot(res.data.lot);
        } else if (err) {
          var e2 = res.data.error || {};
          err.textContent = e2.code === "bid_too_low"
            ? "Too low: bid at least " + fmt(e2.min_next_bid_cents) + "."
            : (e2.message ? e2.message.charAt(0).toUpperCase() + e2.message.slice(1) + "." : "That bid did not go through.");
          err.hidden = false;
        }
      }).catch(function () {
        if (err) { err.textContent = "No connection: your bid was not sent."; err.hidden = false; }
      }).then(function () { if (root.getAttribute("data-status") === "open") button.disabled = false; });
    });
  }
})();
