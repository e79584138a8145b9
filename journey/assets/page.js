// The customer's page: counts down on the server's clock, follows the server's pushed
// state (Server-Sent Events), asks the server to start the interaction when the
// appointment starts, and hands over to the video room when the agent has joined.
(function () {
  "use strict";
  var root = document.getElementById("journey");
  if (!root) return;
  var text = JSON.parse(document.getElementById("journey-text").textContent || "{}");
  var state = JSON.parse(document.getElementById("journey-state").textContent || "null");
  if (!state || !state.phase) return;
  var offset = state.serverTime - Date.now(); // server clock minus ours
  var base = location.pathname.replace(/\/$/, "");
  var roomMounted = false, fetching = false, reloading = false, es = null, pokeTimer = null, offlineTimer = null;

  function show(id, on) { var el = document.getElementById(id); if (el) el.hidden = !on; }

  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function tick() {
    var el = document.getElementById("countdown");
    if (!el || state.phase !== "waiting") return;
    var ms = Date.parse(state.start) - (Date.now() + offset);
    if (ms < 0) ms = 0;
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400);
    var h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    el.textContent = (d > 0 ? d + " " + (text.days || "d") + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(s % 60);
  }

  // A GET of the page URL is what starts (or resumes) the interaction on the server.
  function poke() {
    if (fetching) return;
    fetching = true;
    fetch(base, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (v) { if (v && v.phase) apply(v); })
      .catch(function () {})
      .then(function () { fetching = false; });
  }

  // The camera and microphone check of the waiting room: the customer tries their devices
  // before the call; the devices are released before the room takes them.
  var check = { stream: null, audio: null, raf: 0 };
  function setupCheck() {
    var box = document.getElementById("device-check");
    if (!box || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    box.hidden = false;
    var btn = document.getElementById("check-start"), video = document.getElementById("check-video");
    var meter = document.getElementById("check-level"), out = document.getElementById("check-result");
    btn.addEventListener("click", function () {
      btn.disabled = true;
      navigator.mediaDevices.getUserMedia({ audio: true, video: true }).catch(function () {
        return navigator.mediaDevices.getUserMedia({ audio: true }); // no camera at all
      }).then(function (s) {
        stopCheck();
        check.stream = s;
        var hasVideo = s.getVideoTracks().length > 0, heard = false;
        if (hasVideo) { video.srcObject = s; video.hidden = false; }
        out.textContent = hasVideo ? text.checkOK : text.checkNoCamera;
        var AC = window.AudioContext || window.webkitAudioContext;
        if (AC && s.getAudioTracks().length) {
          check.audio = new AC();
          var an = check.audio.createAnalyser();
          an.fftSize = 512;
          check.audio.createMediaStreamSource(s).connect(an);
          var buf = new Uint8Array(an.fftSize);
          meter.hidden = false;
          var loop = function () {
            an.getByteTimeDomainData(buf);
            var peak = 0;
            for (var i = 0; i < buf.length; i++) peak = Math.max(peak, Math.abs(buf[i] - 128) / 128);
            meter.value = peak;
            if (peak > 0.02) heard = true;
            check.raf = requestAnimationFrame(loop);
          };
          loop();
        }
        setTimeout(function () {
          if (check.stream === s && !heard) out.textContent += " " + text.checkSilent;
        }, 5000);
        btn.disabled = false;
      }).catch(function () {
        out.textContent = text.checkDenied;
        btn.disabled = false;
      });
    });
  }
  function stopCheck() {
    if (check.stream) check.stream.getTracks().forEach(function (t) { t.stop(); });
    if (check.audio) check.audio.close();
    cancelAnimationFrame(check.raf);
    check.stream = check.audio = null;
  }

  function mountRoom() {
    if (roomMounted) return;
    roomMounted = true;
    stopCheck();
    var el = document.getElementById("room");
    el.hidden = false;
    show("live", false);
    var s = document.createElement("script");
    s.src = root.getAttribute("data-room-script");
    s.onload = function () {
      var api = window.RendezvousRoom || window.rendezvousRoom;
      if (api && typeof api.mount === "function") {
        // The agent has answered by now: "waiting for your agent" would read as if nobody
        // had, so the room says that the agent is on the way into the call.
        api.mount(el, { role: "customer", token: base.split("/").pop(),
          labels: text.room_waiting_agent ? { waiting_agent: text.room_waiting_agent } : undefined });
      }
    };
    document.body.appendChild(s);
  }

  // The phases this page follows live; any other (cancelled, ended, too late, an unknown
  // link, a phase this script does not know) is a final page that the server rendered in
  // full. A final page never listens, polls or reloads: it shows what it says and stops.
  function following(phase) { return phase === "waiting" || phase === "not_yet" || phase === "live"; }

  // moveOn replaces a followed page by the final page the server renders now: one reload.
  // A second reload of the same link within a minute is refused (a page that disagreed
  // with itself would otherwise reload forever); the page then only stops listening.
  function moveOn() {
    if (reloading) return;
    reloading = true;
    if (es) { es.close(); es = null; }
    clearTimeout(pokeTimer);
    var key = "rendezvous-reload:" + base, last = 0;
    try { last = +sessionStorage.getItem(key) || 0; } catch (e) {}
    if (Date.now() - last < 60000) return;
    try { sessionStorage.setItem(key, String(Date.now())); } catch (e) {}
    location.reload();
  }

  function apply(v) {
    if (reloading) return;
    if (typeof v.serverTime === "number") offset = v.serverTime - Date.now();
    state = v;
    root.setAttribute("data-phase", v.phase);
    root.setAttribute("data-progress", v.progress || "");
    if (!following(v.phase)) { stopCheck(); moveOn(); return; }
    if (v.phase === "live") stopCheck();
    show("waiting", v.phase === "waiting");
    show("notyet", v.phase === "not_yet");
    // Once the room is there, its own status line is the only one: two lines written by
    // two scripts would soon say different things.
    show("live", v.phase === "live" && !v.room && !roomMounted);
    // Cancel and reschedule are offered only before the start.
    show("self-service-links", v.phase === "waiting" || v.phase === "not_yet");
    if (v.phase === "live") {
      var p = document.getElementById("progress");
      if (p) p.textContent = text[v.progress] || text.starting || "";
      if (v.room) { if (es) { es.close(); es = null; } mountRoom(); return; }
      // Until the server reports the session open, ask again now and then: the GET is
      // what starts (or, after a failure, retries) the interaction.
      if ((!v.progress || v.progress === "connecting") && !pokeTimer) {
        pokeTimer = setTimeout(function () { pokeTimer = null; poke(); }, v.progress ? 5000 : 0);
      }
    }
    tick();
  }

  function listen() {
    if (!window.EventSource) { setInterval(poke, 5000); return; }
    es = new EventSource(base + "/events");
    es.addEventListener("state", function (e) {
      clearTimeout(offlineTimer);
      offlineTimer = null;
      show("offline", false);
      try { apply(JSON.parse(e.data)); } catch (err) {}
    });
    // EventSource reconnects by itself. The server also closes the stream on purpose
    // when the page should look again (the start came, the appointment changed), so only
    // a reconnection that takes a while is worth telling the customer about.
    es.onerror = function () {
      if (roomMounted || offlineTimer) return;
      offlineTimer = setTimeout(function () { show("offline", true); }, 3000);
    };
  }

  if (!following(state.phase)) return; // a final page: nothing to follow
  setInterval(tick, 1000);
  setupCheck();
  apply(state);
  if (!roomMounted && !reloading) listen();
})();
