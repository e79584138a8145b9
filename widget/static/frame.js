/* The scheduling widget's frame: days, then times, then the customer's details; a
   proof-of-work answer is computed in the background while they choose. Progressive
   enhancement is not possible here (the frame is a client of the JSON endpoints), so the
   page says so without scripts. */
(function () {
  "use strict";
  var body = document.body;
  var cfg = JSON.parse(body.dataset.config || "{}");
  if (!cfg.tz) {
    try { cfg.tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { cfg.tz = "UTC"; }
  }
  var T = JSON.parse(body.dataset.t || "{}");
  var slots = JSON.parse(body.dataset.slots || "null");
  var $ = function (id) { return document.getElementById(id); };

  // Theme: validated again here; the server only passes what matched its patterns.
  var st = document.documentElement.style;
  if (/^#[0-9a-fA-F]{3,8}$/.test(cfg.color || "")) st.setProperty("--rw-accent", cfg.color);
  if (/^[A-Za-z0-9 ,"'-]{1,100}$/.test(cfg.font || "")) st.setProperty("--rw-font", cfg.font);
  if (/^[0-9]{1,2}$/.test(cfg.radius || "")) st.setProperty("--rw-radius", cfg.radius + "px");

  // Keep the host's iframe as tall as the content.
  function reportHeight() {
    if (window.parent === window) return;
    window.parent.postMessage({ rendezvousWidgetHeight: document.documentElement.scrollHeight }, cfg.origin);
  }
  if (window.ResizeObserver) new ResizeObserver(reportHeight).observe(body);
  reportHeight();
  if (!$("rw-status")) return;

  // SHA-256 (FIPS 180-4) of an ASCII string, for the proof of work.
  var K = new Int32Array([0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2]);
  var H0 = [0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19];
  var W = new Int32Array(64), HS = new Int32Array(8), BUF = new Int32Array(64);
  function sha256(s) {
    var n = s.length, words = ((n + 9 + 63) >> 6) << 4, i, off;
    if (BUF.length < words) BUF = new Int32Array(words);
    var w = BUF;
    for (i = 0; i < words; i++) w[i] = 0;
    for (i = 0; i < n; i++) w[i >> 2] |= s.charCodeAt(i) << (24 - (i & 3) * 8);
    w[n >> 2] |= 0x80 << (24 - (n & 3) * 8);
    w[words - 1] = n * 8;
    for (i = 0; i < 8; i++) HS[i] = H0[i];
    for (off = 0; off < words; off += 16) {
      for (i = 0; i < 16; i++) W[i] = w[off + i];
      for (i = 16; i < 64; i++) {
        var a = W[i - 15], b = W[i - 2];
        var s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        var s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
      }
      var A = HS[0], B = HS[1], C = HS[2], D = HS[3], E = HS[4], F = HS[5], G = HS[6], HH = HS[7];
      for (i = 0; i < 64; i++) {
        var S1 = ((E >>> 6) | (E << 26)) ^ ((E >>> 11) | (E << 21)) ^ ((E >>> 25) | (E << 7));
        var t1 = (HH + S1 + ((E & F) ^ (~E & G)) + K[i] + W[i]) | 0;
        var S0 = ((A >>> 2) | (A << 30)) ^ ((A >>> 13) | (A << 19)) ^ ((A >>> 22) | (A << 10));
        var t2 = (S0 + ((A & B) ^ (A & C) ^ (B & C))) | 0;
        HH = G; G = F; F = E; E = (D + t1) | 0; D = C; C = B; B = A; A = (t1 + t2) | 0;
      }
      HS[0] += A; HS[1] += B; HS[2] += C; HS[3] += D; HS[4] += E; HS[5] += F; HS[6] += G; HS[7] += HH;
    }
    return HS;
  }
  function zeroBits(h) {
    for (var i = 0, n = 0; i < 8; i++, n += 32) if (h[i] !== 0) return n + Math.clz32(h[i]);
    return 256;
  }

  var api = function (path) { return fetch(path, { credentials: "omit", headers: { "Accept": "application/json" } }); };
  var q = function (o) { return new URLSearchParams(o).toString(); };

  // The proof of work: asked for and solved in slices, so the page stays responsive.
  var work = null;
  function startWork() {
    work = api("/api/v1/widget/challenge?" + q({ org: cfg.org })).then(function (r) {
      if (!r.ok) throw new Error(T.failed);
      return r.json();
    }).then(function (c) {
      return new Promise(function (resolve) {
        var nonce = 0;
        (function slice() {
          for (var end = nonce + 4000; nonce < end; nonce++) {
            if (zeroBits(sha256(c.challenge + ":" + nonce)) >= c.difficulty) return resolve({ challenge: c.challenge, nonce: String(nonce) });
          }
          setTimeout(slice, 0);
        })();
      });
    });
    work.catch(function () { work = null; });
  }

  var dayFmt, timeFmt;
  try {
    dayFmt = new Intl.DateTimeFormat(cfg.lang, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
    timeFmt = new Intl.DateTimeFormat(cfg.lang, { hour: "numeric", minute: "2-digit", timeZone: cfg.tz });
  } catch (e) {
    dayFmt = { format: function (d) { return d.toISOString().slice(0, 10); } };
    timeFmt = { format: function (d) { return d.toISOString().slice(11, 16) + " UTC"; } };
  }
  var fullFmt;
  try { fullFmt = new Intl.DateTimeFormat(cfg.lang, { dateStyle: "full", timeStyle: "short", timeZone: cfg.tz }); } catch (e) { fullFmt = timeFmt; }
  function dayLabel(date) { return dayFmt.format(new Date(date + "T12:00:00Z")); }
  function timeLabel(iso) { return timeFmt.format(new Date(iso)); }

  var status = $("rw-status"), chosen = null, chosenDay = null;
  function say(text) { status.textContent = text; status.hidden = !text; }
  function show(id, on) { $(id).hidden = !on; }

  function load() {
    if (slots) return Promise.resolve(slots);
    say(T.loading);
    return api("/api/v1/availability?" + q({ org: cfg.org, queue: cfg.queue, timeZone: cfg.tz, to: new Date(Date.now() + 62 * 864e5 - 6e4).toISOString().slice(0, 19) + "Z" }))
      .then(function (r) { if (!r.ok) throw new Error(T.failed); return r.json(); })
      .then(function (a) { slots = a.slots; return slots; });
  }

  function byDay() {
    var days = [], map = {};
    slots.forEach(function (s) {
      if (!map[s.date]) { map[s.date] = []; days.push(s.date); }
      map[s.date].push(s);
    });
    return { days: days, map: map };
  }

  function pressed(container, btn) {
    Array.prototype.forEach.call(container.children, function (b) { b.setAttribute("aria-pressed", String(b === btn)); });
  }

  function renderDays() {
    var g = byDay(), box = $("rw-days");
    box.textContent = "";
    show("rw-times-section", false);
    show("rw-form", false);
    if (!g.days.length) { say(T.noSlots); show("rw-days-section", false); return; }
    say("");
    g.days.forEach(function (d) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = dayLabel(d);
      b.setAttribute("aria-pressed", "false");
      b.dataset.date = d;
      b.addEventListener("click", function () { pressed(box, b); chosenDay = d; renderTimes(g.map[d]); });
      box.appendChild(b);
    });
    show("rw-days-section", true);
  }

  function renderTimes(list, keepFocus) {
    var box = $("rw-times");
    box.textContent = "";
    list.forEach(function (s) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = timeLabel(s.start);
      b.setAttribute("aria-pressed", "false");
      b.dataset.start = s.start;
      b.addEventListener("click", function () { pressed(box, b); choose(s); });
      box.appendChild(b);
    });
    show("rw-times-section", true);
    show("rw-form", false);
    if (!keepFocus && box.firstChild) box.firstChild.focus();
  }

  function choose(s) {
    chosen = s;
    $("rw-chosen").textContent = fullFmt.format(new Date(s.start));
    show("rw-form", true);
    if (!work) startWork();
    $("rw-name").focus();
  }

  function fieldError(name, text) {
    var el = $("rw-" + name + "-error"), input = $("rw-" + name);
    if (!el) return false;
    el.textContent = text || "";
    if (input) input.setAttribute("aria-invalid", text ? "true" : "false");
    return !!text;
  }

  function clearErrors() { ["name", "email", "phone", "consent"].forEach(function (f) { fieldError(f, ""); }); }

  $("rw-back").addEventListener("click", function () {
    show("rw-form", false);
    var sel = $("rw-times").querySelector("[aria-pressed=true]") || $("rw-times").firstChild;
    if (sel) sel.focus();
  });

  $("rw-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    clearErrors();
    var name = $("rw-name").value.trim(), email = $("rw-email").value.trim(), phone = $("rw-phone").value.trim();
    var bad = false;
    if (!name) bad = fieldError("name", T.needName) || bad;
    if (!email && !phone) bad = fieldError("email", T.needContact) || bad;
    if (!$("rw-consent").checked) bad = fieldError("consent", T.needConsent) || bad;
    if (bad) { var first = document.querySelector("[aria-invalid=true]"); if (first) first.focus(); return; }
    var btn = $("rw-submit");
    btn.disabled = true;
    say(T.booking);
    if (!work) startWork();
    work.then(function (pow) {
      return fetch("/api/v1/widget/bookings", {
        method: "POST", credentials: "omit",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ org: cfg.org, queue: cfg.queue, chatMode: cfg.chatMode, start: chosen.start, timeZone: cfg.tz,
          language: cfg.lang, name: name, email: email, phone: phone, consent: true, challenge: pow.challenge, nonce: pow.nonce, origin: cfg.origin })
      });
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) { return { status: r.status, body: b }; });
    }).then(function (res) {
      btn.disabled = false;
      if (res.status === 201) return done(res.body);
      if (res.status === 409 && res.body.alternatives) return taken(res.body.alternatives);
      if (res.status === 409) { work = null; startWork(); say(T.tryAgain); return; }
      if (res.status === 422 && res.body.errors) {
        var shown = false;
        res.body.errors.forEach(function (e) {
          var f = e.field.replace(/^customers\[0\]\./, "");
          if (fieldError(f, e.message)) shown = true;
        });
        say(shown ? T.fixFields : (res.body.errors[0].message || T.failed));
        if (/nonce|challenge/.test(res.body.errors[0].field)) { work = null; startWork(); }
        return;
      }
      if (res.status === 429) { say(T.tooMany); return; }
      say(T.failed);
    }).catch(function () { btn.disabled = false; work = null; say(T.failed); });
  });

  function taken(alternatives) {
    slots = null;
    say(T.taken);
    show("rw-form", true);
    var box = $("rw-times");
    renderTimes(alternatives, true);
    $("rw-times-label").textContent = T.alternatives;
    show("rw-form", false);
    pressed($("rw-days"), null);
    if (box.firstChild) box.firstChild.focus();
  }

  function done(b) {
    say("");
    ["rw-days-section", "rw-times-section", "rw-form"].forEach(function (id) { show(id, false); });
    $("rw-done-when").textContent = fullFmt.format(new Date(b.start));
    $("rw-link").href = b.links.customer;
    $("rw-ics").href = b.links.calendar;
    show("rw-done", true);
    $("rw-done").focus();
    work = null;
  }

  $("rw-again").addEventListener("click", function () {
    show("rw-done", false);
    $("rw-form").reset();
    $("rw-times-label").textContent = T.chooseTime;
    slots = null;
    load().then(renderDays).then(function () { var f = $("rw-days").firstChild; if (f) f.focus(); }).catch(function () { say(T.failed); });
  });

  load().then(renderDays).catch(function () { say(T.failed); });
})();
