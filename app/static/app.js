// Rendezvous staff pages: small enhancements over pages that work without them.
// - remembers the browser's time zone (rdv_tz cookie) so times are shown in it;
// - copy buttons; the customer's time beside the typed time on the form;
// - live updates: an EventSource on /app/events refreshes the calendar and list in place,
//   and tells an appointment's page when it changed; a "resync" event, or the stream
//   coming back after a break, refreshes the calendar and list too.
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
  if (zone && document.cookie.indexOf("rdv_tz=" + zone) < 0) {
    document.cookie = "rdv_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
  }

  // The end of a sign-in in the Interaction Widget's pop-up: tell the widget, close.
  if (document.querySelector("[data-signed-in]") && window.opener) {
    try { window.opener.postMessage("rdv-signed-in", location.origin); } catch (e) {}
    window.close();
  }
  // The widget: sign in in a pop-up (Genesys Cloud's login cannot be shown in a frame),
  // then show the appointment.
  var signin = document.getElementById("widget-signin");
  if (signin) {
    signin.addEventListener("click", function (ev) {
      var w = window.open(signin.href, "rdv-signin", "width=520,height=720");
      if (!w) return; // blocked: the link opens it as a tab instead
      ev.preventDefault();
      var timer = setInterval(function () { if (w.closed) { clearInterval(timer); location.reload(); } }, 500);
    });
    window.addEventListener("message", function (ev) {
      if (ev.origin === location.origin && ev.data === "rdv-signed-in") location.reload();
    });
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-copy]");
    if (!b) return;
    var input = document.getElementById(b.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () { var t = b.textContent; b.textContent = b.getAttribute("data-done") || "✓"; setTimeout(function () { b.textContent = t; }, 1500); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else { document.execCommand("copy"); done(); }
  });

  // The customer's time beside the agent's while typing.
  var form = document.querySelector("form.appt");
  if (form) {
    var preview = document.getElementById("tz-preview");
    var label = preview ? preview.textContent : "";
    var update = function () {
      var d = form.elements.date, t = form.elements.time, tz = form.elements.tz;
      if (!preview || !d || !t || !tz || !d.value || !t.value || !tz.value) return;
      try {
        // The typed wall time is in the agent's zone: find the instant by correcting the
        // UTC guess by that zone's offset at that moment.
        var my = form.getAttribute("data-myzone");
        var guess = new Date(d.value + "T" + t.value + ":00Z");
        var parts = function (date, z) {
          var f = new Intl.DateTimeFormat("en-CA", { timeZone: z, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
          var o = {}; f.formatToParts(date).forEach(function (p) { o[p.type] = p.value; });
          return Date.UTC(+o.year, +o.month - 1, +o.day, +o.hour, +o.minute);
        };
        var at = new Date(guess.getTime() - (parts(guess, my) - guess.getTime()));
        var lang = form.getAttribute("data-lang") || "en";
        var text = new Intl.DateTimeFormat(lang, { timeZone: tz.value, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at);
        var prefix = label.split(":")[0] || "";
        preview.textContent = prefix + ": " + text + " (" + tz.value + ")";
      } catch (e) { /* an unknown zone: the server explains on save */ }
    };
    ["input", "change"].forEach(function (k) { form.addEventListener(k, update); });
    update();
    // Put the focus on the problems after a refused save.
    var errors = document.getElementById("errors");
    if (errors) errors.focus();
  }

  // Administration / webhooks and TURN servers: show only the fields of the sign-in chosen
  // in the same fieldset (without the script every field shows, and the choice decides).
  if (document.querySelector(".auth-fields[data-auth]")) {
    var showAuth = function () {
      document.querySelectorAll(".auth-fields[data-auth]").forEach(function (f) {
        var group = f.closest("fieldset");
        var on = group && group.querySelector("input[type=radio][name^=auth]:checked");
        f.hidden = !on || f.getAttribute("data-auth") !== on.value;
      });
    };
    document.addEventListener("change", showAuth);
    showAuth();
  }

  // Live updates.
  var live = document.body.getAttribute("data-live");
  if (!live || !window.EventSource) return;
  var pending = false;
  var refresh = function () {
    if (pending) return;
    pending = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        pending = false;
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("live"), cur = document.getElementById("live");
        if (next && cur) { cur.innerHTML = next.innerHTML; document.body.setAttribute("data-updated", String(Date.now())); }
      })
      .catch(function () { pending = false; });
  };
  var es = new EventSource("/app/events");
  // After a lost stream or a "resync" (the server's own feed reconnected), changes may
  // have been missed: a calendar or list reads its data afresh.
  var opened = false;
  es.addEventListener("open", function () {
    if (opened && live === "refresh") refresh();
    opened = true;
  });
  es.addEventListener("resync", function () { if (live === "refresh") refresh(); });
  es.addEventListener("change", function (ev) {
    var c = {};
    try { c = JSON.parse(ev.data); } catch (e) { return; }
    if (live === "refresh") { refresh(); return; }
    if (live === "appointment:" + c.appointmentId) {
      var box = document.getElementById("live");
      if (box && !box.firstChild) {
        var p = document.createElement("p");
        p.className = "notice";
        var a = document.createElement("a");
        a.href = location.pathname;
        a.textContent = document.documentElement.lang === "de" ? "Dieser Termin wurde gerade geändert. Neu laden" :
          document.documentElement.lang === "el" ? "Αυτό το ραντεβού μόλις άλλαξε. Ανανέωση" : "This appointment just changed. Reload";
        p.appendChild(a);
        box.appendChild(p);
      }
    }
  });
})();
