// Live updates: EventSource by default, long polling after repeated stream failures or with
// ?transport=longpoll. Reads its cursor from the page so nothing between render and subscribe
// is lost. Plain JavaScript, no build step; the page works without it.
(function () {
  "use strict";
  var body = document.body;
  var lotRoot = document.querySelector("article.lot[data-cursor]");
  var listRoot = document.querySelector("[data-live-list][data-cursor]");
  var root = lotRoot || listRoot;
  // A page without live content (e.g. /me) still takes part in the browser's one connection,
  // watching nothing yet: it shows the connection's state.
  var statusOnly = !root && document.getElementById("live-status");
  var signedIn = !!document.body.getAttribute("data-username");
  // A signed-in user's every page takes part too: their notices ride the same connection.
  if (!root && !statusOnly && !signedIn) return;

  var currency = body.getAttribute("data-currency") || "EUR";
  var money;
  try { money = new Intl.NumberFormat("en-US", { style: "currency", currency: currency }); }
  catch (e) { money = { format: function (n) { return currency + " " + n.toFixed(2); } }; }
  function fmt(cents) { return money.format(cents / 100); }

  var lotId = lotRoot ? lotRoot.getAttribute("data-lot-id") : null;
  // `null`: this page needs no event from before it subscribed.
  var cursor = root ? (parseInt(root.getAttribute("data-cursor"), 10) || 0) : null;
  function older(a, b) { return a === null ? b : b === null ? a : Math.min(a, b); }
  var forced = new URLSearchParams(location.search).get("transport");
  var statusEl = document.getElementById("live-status");
  var TYPES = ["opened", "bid", "extended", "closed", "cancelled", "bid_removed"];
  var me = body.getAttribute("data-username");
  var NOTICE_TYPES = ["outbid", "won", "lost", "ending_soon", "offer_approved", "offer_rejected",
    "sold", "unsold", "bid_removed"];
  // This tab's own notice cursor: it shows only notices newer than its page.
  var noticeCursor = me ? (parseInt(body.getAttribute("data-notice-cursor"), 10) || 0) : null;

  // The countdown follows the server's clock: skew = server time - device time.
  var serverNow = Date.parse(body.getAttribute("data-server-now"));
  if (!isNaN(serverNow)) window.gavelClockSkew = serverNow - Date.now();

  function setState(state) {
    if (!statusEl) return;
    statusEl.setAttribute("data-state", state);
    statusEl.textContent = state === "live" ? "Live" : state === "connecting" ? "Connecting…"
      : state === "reconnecting" ? "Reconnecting…" : "Offline: reload for news";
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
    var reserve = document.getElementById("reserve-status");
    if (reserve && lot.reserve_met != null) {
      var met = lot.reserve_met ? "Reserve met" : "Reserve not met";
      if (reserve.textContent !== met) { reserve.textContent = met; flash(reserve); }
    }
    showMyMax(lot, price);
    if (lot.status === "closed" || lot.status === "cancelled") finish(lot);
    if (window.gavel) window.gavel.tick();
  }

  // The viewer's own maximum: told by their own answers (`my_max_cents`); public events only
  // tell that it was beaten (someone else leads at or above it).
  function showMyMax(lot, price) {
    var el = document.getElementById("my-max");
    if ("my_max_cents" in lot) {
      if (!el) return location.reload();
      el.setAttribute("data-cents", lot.my_max_cents);
      el.textContent = fmt(lot.my_max_cents);
      return;
    }
    if (!el) return;
    var mine = parseInt(el.getAttribute("data-cents"), 10);
    var leader = lot.leader ? lot.leader.username : null;
    if (leader !== me && price >= mine) {
      el.textContent = fmt(mine) + " (outbid)";
      el.classList.add("beaten");
    }
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
    li.setAttribute("data-proxy", bid.proxy ? "true" : "false");
    if (bid.proxy) {
      var auto = document.createElement("span"); auto.className = "proxy"; auto.textContent = "auto";
      auto.title = "Placed by Gavel from this bidder's maximum";
      who.appendChild(document.createTextNode(" ")); who.appendChild(auto);
    }
    li.appendChild(who); li.appendChild(amt); li.appendChild(t);
    list.insertBefore(li, list.firstChild);
    var none = document.getElementById("no-bids");
    if (none) none.remove();
    if (window.gavel) window.gavel.localize(li);
    flash(li);
  }

  // A removal rewrote the lot's history: show it as it now stands, and the viewer's own
  // maximum (which the removed request may have held).
  function reloadHistory() {
    if (!window.fetch) return;
    var opts = { credentials: "same-origin", headers: { Accept: "application/json" } };
    fetch("/api/v1/lots/" + lotId + "/bids?limit=100", opts).then(function (r) { return r.json(); })
      .then(function (data) {
        var list = document.getElementById("bid-history");
        if (!list) return;
        list.textContent = "";
        (data.bids || []).slice().reverse().forEach(addBid);
      }).catch(function () {});
    fetch("/api/v1/lots/" + lotId, opts).then(function (r) { return r.json(); })
      .then(function (lot) {
        var el = document.getElementById("my-max");
        if (el && !("my_max_cents" in lot)) el.remove();
        else if (lot.my_max_cents != null) showLot(lot);
      }).catch(function () {});
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
    card.setAttribute("data-status", lot.status);
    if (listRoot.hasAttribute("data-mark-next")) markNext();
  }

  // A sale's catalogue marks the open lot that closes next.
  function markNext() {
    var next = null, soonest = Infinity;
    listRoot.querySelectorAll('[data-lot-id][data-status="open"] [data-role=countdown][data-ends-at]').forEach(function (cd) {
      var t = Date.parse(cd.getAttribute("data-ends-at"));
      if (t < soonest) { soonest = t; next = cd.closest("[data-lot-id]"); }
    });
    listRoot.querySelectorAll("[data-lot-id].next").forEach(function (el) {
      if (el !== next) { el.classList.remove("next"); el.removeAttribute("aria-current"); }
    });
    if (next) { next.classList.add("next"); next.setAttribute("aria-current", "step"); }
  }

  function apply(ev) {
    if (!ev || ev.id <= cursor) return;
    cursor = ev.id;
    var at = Date.parse(ev.at);
    if (!isNaN(at)) {
      // An event just committed (a bid, an opening, a closing on time): its time is (about)
      // the server's now.
      window.gavelClockSkew = at - Date.now();
    }
    if (lotRoot) {
      if (ev.lot_id !== lotId) return;
      if (ev.type === "opened" && lotRoot.getAttribute("data-status") === "scheduled") {
        // Its sale started: the page as rendered now has the bid form and the countdown.
        location.reload();
        return;
      }
      if (ev.bid) addBid(ev.bid);
      showLot(ev.lot);
      if (ev.type === "bid_removed") reloadHistory();
    } else {
      updateCard(ev);
    }
  }

  function presence(data) {
    try { var p = JSON.parse(data); if (!lotId || p.lot_id === lotId) text("watchers", p.watchers); } catch (e) {}
  }

  // One transport (SSE, or long polling after failures or when forced) from `after`, handing
  // each event and state change to `on`. Returns a function that closes it.
  function transport(streamUrl, pollUrl, after, on, types) {
    var es = null, failures = 0, stopped = false, last = after;
    function seen(kind, data) {
      if (kind !== "presence") { try { var id = JSON.parse(data).id; if (id > last) last = id; } catch (e) {} }
      on.event(kind, data);
    }
    function startStream() {
      es = new EventSource(last === null ? streamUrl
        : streamUrl + (streamUrl.indexOf("?") < 0 ? "?" : "&") + "after=" + last);
      es.onopen = function () { failures = 0; on.state("live"); };
      (types || TYPES.concat(["presence"])).forEach(function (t) {
        es.addEventListener(t, function (m) { seen(t, m.data); });
      });
      es.onerror = function () {
        failures += 1;
        on.state("reconnecting");
        if (failures >= 4 || es.readyState === EventSource.CLOSED) {
          // Repeated failures: the network may not pass streams. Fall back to long polling,
          // resuming from the last event seen.
          es.close();
          es = null;
          if (stopped) return;
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
        var q = (last === null ? "" : "after=" + last + "&") + "timeout=" + wait;
        fetch(pollUrl + (pollUrl.indexOf("?") < 0 ? "?" : "&") + q,
              { headers: { Accept: "application/json" }, cache: "no-store" })
          .then(function (r) { if (!r.ok) throw new Error("status " + r.status); return r.json(); })
          .then(function (data) {
            if (stopped) return;
            on.state("live");
            delay = 1000;
            (data.events || []).forEach(function (ev) { seen(ev.type, JSON.stringify(ev)); });
            if (typeof data.cursor === "number" && data.cursor > last) last = data.cursor;
            loop();
          })
          .catch(function () {
            if (stopped) return;
            on.state(navigator.onLine === false ? "offline" : "reconnecting");
            first = true;
            setTimeout(loop, delay);
            delay = Math.min(delay * 2, 10000);
          });
      }
      loop();
    }
    if (forced === "longpoll" || !window.EventSource) startPolling(); else startStream();
    return function () { stopped = true; if (es) { es.close(); es = null; } };
  }

  // A personal notice: the unread count goes up and a toast says what happened (and, on /me,
  // the list gets it on top). Worded as the server words them on /me.
  function noticeText(n) {
    var price = function (f) { return n[f] != null ? fmt(n[f]) : ""; };
    switch (n.type) {
      case "outbid": return "You were outbid: now " + price("price_cents") + ". Bid " + price("min_next_bid_cents") + " or more to lead again.";
      case "won": return "You won it for " + price("price_cents") + ".";
      case "lost": return "It closed and you did not win it.";
      case "ending_soon": return "It ends soon: last chance to bid.";
      case "offer_approved": return "Your offer was approved: bidding is open.";
      case "offer_rejected": return "Your offer was rejected: " + (n.reason || "no reason given.");
      case "sold": return "Sold to " + (n.winner ? n.winner.username : "the winner") + " for " + price("price_cents") + ".";
      case "unsold": return "It closed unsold.";
      case "bid_removed": return "An admin removed your bid of " + price("amount_cents") + ".";
      default: return String(n.type).replace(/_/g, " ");
    }
  }

  function showNotice(data) {
    var n;
    try { n = JSON.parse(data); } catch (e) { return; }
    if (noticeCursor === null || !(n.id > noticeCursor)) return;
    noticeCursor = n.id;
    document.querySelectorAll("[data-role=notice-count]").forEach(function (el) {
      var count = (parseInt(el.getAttribute("data-count"), 10) || 0) + 1;
      el.setAttribute("data-count", count);
      el.textContent = count;
      el.hidden = false;
      flash(el);
    });
    var title = n.lot && n.lot.title ? n.lot.title : "A lot";
    var href = n.lot ? "/lots/" + n.lot.id : "/me";
    var list = document.getElementById("notices");
    if (list) {
      var li = document.createElement("li");
      li.setAttribute("data-notice-id", n.id);
      li.setAttribute("data-type", n.type);
      li.className = "unread";
      var link = document.createElement("a"); link.href = href; link.textContent = title;
      li.appendChild(link);
      li.appendChild(document.createTextNode(": " + noticeText(n)));
      list.insertBefore(li, list.firstChild);
      var none = document.getElementById("no-notices");
      if (none) none.remove();
    }
    var toasts = document.getElementById("toasts");
    if (!toasts) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-" + n.type;
    toast.setAttribute("data-notice-id", n.id);
    toast.setAttribute("role", "status");
    var a = document.createElement("a"); a.href = href; a.textContent = title;
    var p = document.createElement("p");
    p.appendChild(a);
    p.appendChild(document.createTextNode(": " + noticeText(n)));
    var close = document.createElement("button");
    close.type = "button"; close.className = "toast-close"; close.textContent = "×";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", function () { toast.remove(); });
    toast.appendChild(p); toast.appendChild(close);
    toasts.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 12000);
  }

  function deliver(kind, data) {
    if (kind === "presence") presence(data);
    else { try { apply(JSON.parse(data)); } catch (e) {} }
  }

  var local = { event: deliver, state: setState };
  var shared = window.BroadcastChannel && navigator.locks && forced !== "solo";
  if (!shared && statusOnly && !me) {
    // Nothing to watch and nobody to share with: no connection.
  } else if (!shared) {
    // A browser that cannot share: a connection of this tab's own.
    if (root) {
      var close = transport(lotRoot ? "/lots/" + lotId + "/events" : "/events",
                            lotRoot ? "/lots/" + lotId + "/poll" : "/poll", cursor, local);
      window.addEventListener("pagehide", close);
    }
    if (me) {
      var closeNotices = transport("/me/events", "/me/poll", noticeCursor, {
        event: function (kind, data) { showNotice(data); },
        state: function (state) { if (!root) setState(state); }
      }, NOTICE_TYPES);
      window.addEventListener("pagehide", closeNotices);
    }
  } else {
    shareOneConnection();
  }

  // One live connection per browser however many tabs (issue: Comet for every client): the tab
  // holding the "gavel-live" lock leads. It watches what every open tab wants (a lot, or all of
  // them for the list) through one stream and hands each event to the others over a
  // BroadcastChannel; each tab applies only events newer than its own cursor, so a replay is
  // harmless. When the leader closes, the lock passes to another tab, which resumes from the
  // oldest cursor any tab still needs: nothing is missed, nothing applied twice.
  function shareOneConnection() {
    var bc = new BroadcastChannel("gavel-live");
    var tab = Date.now().toString(36) + Math.random().toString(36).slice(2);
    // The front page watches every lot; a watchlist only its own.
    var want = lotId ? [lotId] : !listRoot ? [] : listRoot.id !== "watchlist" ? "*"
      : Array.prototype.map.call(listRoot.querySelectorAll("[data-lot-id]"),
          function (el) { return el.getAttribute("data-lot-id"); });
    var leading = false, wants = {}, closeCurrent = null, target = null, timer = null;
    var closeNotices = null;

    // A tab that watches nothing needs no past events: its cursor does not hold the others back.
    function needs() { return want.length === 0 ? null : cursor; }
    function announce() {
      bc.postMessage({ t: "want", tab: tab, want: want, cursor: needs(), notices: noticeCursor });
    }

    function union() {
      var ids = {}, all = false;
      Object.keys(wants).forEach(function (k) {
        var w = wants[k].want;
        if (w === "*") all = true; else w.forEach(function (id) { ids[id] = true; });
      });
      return all ? "*" : Object.keys(ids).sort().join(",");
    }

    // (Re)opens the one connection for the union of wants, from the oldest cursor needed.
    function retarget(from) {
      if (!leading) return;
      var u = union();
      if (u === target && from === null) return;
      target = u;
      var start = from === null ? needs() : from;
      if (closeCurrent) closeCurrent();
      closeCurrent = null;
      // Nothing to watch: no lot stream at all (the notices stream, if any, is the connection).
      if (u === "") return;
      // One lot alone: its own stream, which also carries how many are watching it.
      var single = u !== "*" && u !== "" && u.indexOf(",") < 0;
      var q = u === "*" ? "" : "?lots=" + u;
      var streamUrl = single ? "/lots/" + u + "/events" : "/events" + q;
      var pollUrl = single ? "/lots/" + u + "/poll" : "/poll" + q;
      closeCurrent = transport(streamUrl, pollUrl, start, {
        event: function (kind, data) { bc.postMessage({ t: "event", kind: kind, data: data }); deliver(kind, data); },
        state: function (state) { bc.postMessage({ t: "state", state: state }); setState(state); }
      });
    }

    function lead() {
      leading = true;
      wants = {};
      wants[tab] = { want: want, cursor: needs() };
      bc.postMessage({ t: "hello" });
      // The others answer at once; then one connection from the oldest cursor among them.
      setTimeout(function () {
        var from = needs(), notices = noticeCursor;
        Object.keys(wants).forEach(function (k) {
          from = older(from, wants[k].cursor);
          notices = older(notices, wants[k].notices === undefined ? null : wants[k].notices);
        });
        retarget(from);
        // The user's notices: the second (and last) stream this browser holds, from the oldest
        // notice any tab has not shown yet.
        if (notices !== null) {
          closeNotices = transport("/me/events", "/me/poll", notices, {
            event: function (kind, data) { bc.postMessage({ t: "notice", data: data }); showNotice(data); },
            // When no lot stream is open, this one tells whether the page is live.
            state: function (state) {
              if (target !== "") return;
              bc.postMessage({ t: "state", state: state }); setState(state);
            }
          }, NOTICE_TYPES);
        }
      }, 200);
      // A tab that stopped announcing (closed without a word) stops being watched for.
      timer = setInterval(function () {
        var now = Date.now(), dropped = false;
        Object.keys(wants).forEach(function (k) {
          if (k !== tab && now - wants[k].at > 15000) { delete wants[k]; dropped = true; }
        });
        if (dropped) retarget(null);
      }, 5000);
    }

    bc.onmessage = function (m) {
      var d = m.data || {};
      if (d.t === "event") deliver(d.kind, d.data);
      else if (d.t === "notice") showNotice(d.data);
      else if (d.t === "state") { if (!leading) setState(d.state); }
      else if (d.t === "hello") announce();
      else if (leading && d.t === "want") {
        var known = wants[d.tab];
        wants[d.tab] = { want: d.want, cursor: d.cursor, notices: d.notices, at: Date.now() };
        // A new tab may need events from before the leader's position: replay from its cursor.
        if (!known) retarget(older(needs(), d.cursor));
        else if (String(known.want) !== String(d.want)) retarget(null);
      } else if (leading && d.t === "bye") {
        delete wants[d.tab];
        retarget(null);
      }
    };

    setState("connecting");
    announce();
    setInterval(announce, 5000);
    navigator.locks.request("gavel-live", function () {
      lead();
      return new Promise(function () {}); // held until this tab goes away
    });
    window.addEventListener("pagehide", function () {
      bc.postMessage({ t: "bye", tab: tab });
      if (closeCurrent) closeCurrent();
      if (closeNotices) closeNotices();
      if (timer) clearInterval(timer);
    });
  }

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
