// Rendezvous video room: a 1:1 WebRTC call with Rendezvous as the signaling server.
//
// Embed it in any page:
//
//   <script src="/static/room/room.js"></script>
//   RendezvousRoom.mount(element, {
//     role: "customer",            // or "agent"
//     token: "<customer link token>", // or signalingURL: "/room/customer/<token>/ws"
//     iceServers: [...],           // optional; the server sends the configured ones anyway
//     lang: "el",                  // optional; defaults to the page's <html lang>
//     labels: { connected: "..." }, // optional overrides of the words shown
//     confirmHangUp: false         // optional; hanging up asks for confirmation unless false
//   });
//
// mount returns a handle: { state(), stats(), hangUp(), debug(), destroy() }, also set as
// element.rendezvousRoom. The element gets the attribute data-state with the connection
// state (see LABELS for the names) and the event "rendezvous-room-ended" when the call ends.
//
// Negotiation follows the "perfect negotiation" pattern: both sides may offer at any time;
// on a collision the polite side (the customer, as the server says) gives way. Whenever the
// other side (re)connects, the server says so and both start a fresh RTCPeerConnection, so a
// reload on either side recovers without any state kept from before.
(function () {
  "use strict";

  var LABELS = {
    en: {
      starting: "Starting your camera and microphone…",
      nomedia: "Your camera or microphone is not available, so the other side cannot see or hear you. Check your browser's permissions.",
      connecting: "Connecting…",
      waiting_agent: "Waiting for your agent to join…",
      waiting_customer: "Waiting for the customer to join…",
      negotiating: "Setting up the call…",
      connected: "Connected",
      reconnecting: "The connection was interrupted. Reconnecting…",
      peer_left: "The other side has left. Waiting for them to come back…",
      ended: "The call has ended. You can close this window.",
      replaced: "This call continues in another window.",
      failed: "The call could not connect. Check your network connection.",
      unsupported: "This browser cannot make video calls. Please use a recent Chrome, Edge, Firefox or Safari.",
      mute: "Mute",
      unmute: "Unmute",
      camera_off: "Turn camera off",
      camera_on: "Turn camera on",
      hang_up: "Hang up",
      hang_up_confirm: "End the call for both of you?",
      you: "You",
      other_agent: "Agent",
      other_customer: "Customer",
      muted_note: "Your microphone is muted"
    },
    de: {
      starting: "Kamera und Mikrofon werden gestartet…",
      nomedia: "Ihre Kamera oder Ihr Mikrofon ist nicht verfügbar, daher kann die andere Seite Sie weder sehen noch hören. Prüfen Sie die Berechtigungen Ihres Browsers.",
      connecting: "Verbindung wird hergestellt…",
      waiting_agent: "Warten auf Ihre Ansprechperson…",
      waiting_customer: "Warten auf den Kunden…",
      negotiating: "Der Anruf wird vorbereitet…",
      connected: "Verbunden",
      reconnecting: "Die Verbindung wurde unterbrochen. Neuer Verbindungsversuch…",
      peer_left: "Die andere Seite hat das Gespräch verlassen. Warten auf ihre Rückkehr…",
      ended: "Der Anruf ist beendet. Sie können dieses Fenster schließen.",
      replaced: "Der Anruf wird in einem anderen Fenster fortgesetzt.",
      failed: "Der Anruf konnte nicht verbunden werden. Prüfen Sie Ihre Netzwerkverbindung.",
      unsupported: "Dieser Browser unterstützt keine Videoanrufe. Bitte verwenden Sie ein aktuelles Chrome, Edge, Firefox oder Safari.",
      mute: "Stumm schalten",
      unmute: "Stummschaltung aufheben",
      camera_off: "Kamera aus",
      camera_on: "Kamera ein",
      hang_up: "Auflegen",
      hang_up_confirm: "Den Anruf für beide beenden?",
      you: "Sie",
      other_agent: "Ansprechperson",
      other_customer: "Kunde",
      muted_note: "Ihr Mikrofon ist stumm geschaltet"
    },
    el: {
      starting: "Ενεργοποίηση κάμερας και μικροφώνου…",
      nomedia: "Η κάμερα ή το μικρόφωνό σας δεν είναι διαθέσιμα, οπότε η άλλη πλευρά δεν σας βλέπει ούτε σας ακούει. Ελέγξτε τις άδειες του προγράμματος περιήγησης.",
      connecting: "Σύνδεση…",
      waiting_agent: "Αναμονή για τον εκπρόσωπό σας…",
      waiting_customer: "Αναμονή για τον πελάτη…",
      negotiating: "Προετοιμασία της κλήσης…",
      connected: "Συνδεθήκατε",
      reconnecting: "Η σύνδεση διακόπηκε. Επανασύνδεση…",
      peer_left: "Η άλλη πλευρά αποχώρησε. Αναμονή για την επιστροφή της…",
      ended: "Η κλήση τελείωσε. Μπορείτε να κλείσετε αυτό το παράθυρο.",
      replaced: "Η κλήση συνεχίζεται σε άλλο παράθυρο.",
      failed: "Η κλήση δεν μπόρεσε να συνδεθεί. Ελέγξτε τη σύνδεσή σας στο δίκτυο.",
      unsupported: "Αυτό το πρόγραμμα περιήγησης δεν υποστηρίζει βιντεοκλήσεις. Χρησιμοποιήστε πρόσφατο Chrome, Edge, Firefox ή Safari.",
      mute: "Σίγαση",
      unmute: "Άρση σίγασης",
      camera_off: "Απενεργοποίηση κάμερας",
      camera_on: "Ενεργοποίηση κάμερας",
      hang_up: "Τερματισμός",
      hang_up_confirm: "Να τερματιστεί η κλήση και για τους δύο;",
      you: "Εσείς",
      other_agent: "Εκπρόσωπος",
      other_customer: "Πελάτης",
      muted_note: "Το μικρόφωνό σας είναι σε σίγαση"
    }
  };

  // The stylesheet lives next to this script.
  var scriptSrc = document.currentScript && document.currentScript.src;

  function loadStyle() {
    if (!scriptSrc || document.querySelector("link[data-rdv-room]")) return;
    var l = document.createElement("link");
    l.rel = "stylesheet";
    l.href = scriptSrc.replace(/room\.js(\?.*)?$/, "room.css");
    l.setAttribute("data-rdv-room", "");
    document.head.appendChild(l);
  }

  function pickLabels(lang, overrides) {
    var base = (lang || document.documentElement.lang || navigator.language || "en").toLowerCase().split("-")[0];
    var words = {}, k;
    for (k in LABELS.en) words[k] = LABELS.en[k];
    if (LABELS[base]) for (k in LABELS[base]) words[k] = LABELS[base][k];
    if (overrides) for (k in overrides) words[k] = overrides[k];
    return words;
  }

  function wsURL(path) {
    var u = new URL(path, location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.href;
  }

  function el(tag, cls, parent) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }

  function mount(root, opts) {
    opts = opts || {};
    loadStyle();
    var role = opts.role === "agent" ? "agent" : "customer";
    var t = pickLabels(opts.lang, opts.labels);
    var signalingURL = opts.signalingURL ||
      (role === "customer" ? "/room/customer/" + encodeURIComponent(opts.token || "") + "/ws"
                           : "/room/agent/" + encodeURIComponent(opts.key || "") + "/ws");

    // The interface.
    root.innerHTML = "";
    var box = el("div", "rdv-room", root);
    var stage = el("div", "rdv-stage", box);
    var remote = el("video", "rdv-remote", stage);
    remote.autoplay = true; remote.playsInline = true;
    remote.setAttribute("aria-label", role === "agent" ? t.other_customer : t.other_agent);
    var local = el("video", "rdv-local", stage);
    local.autoplay = true; local.playsInline = true; local.muted = true;
    local.setAttribute("aria-label", t.you);
    var status = el("p", "rdv-status", box);
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var noteLine = el("p", "rdv-note", box);
    var controls = el("div", "rdv-controls", box);
    var micBtn = el("button", "rdv-mic", controls); micBtn.type = "button";
    var camBtn = el("button", "rdv-cam", controls); camBtn.type = "button";
    var hangBtn = el("button", "rdv-hangup", controls); hangBtn.type = "button";
    hangBtn.textContent = t.hang_up;

    var state = "", stream = null, ws = null, pc = null, epoch = 0, polite = role === "customer";
    var iceServers = opts.iceServers || [];
    var micOn = true, camOn = true, over = false, retries = 0, retryTimer = null;
    var makingOffer = false, ignoreOffer = false, chain = Promise.resolve();
    var log = []; // the last events, for debug() and support
    function note(what) {
      log.push(new Date().toISOString().slice(11, 23) + " " + what);
      if (log.length > 100) log.shift();
    }

    function setState(s) {
      if (s !== state) note("state " + s);
      state = s;
      box.setAttribute("data-state", s);
      root.setAttribute("data-state", s);
      status.textContent = t[s] || s;
    }
    function waitingState() { return role === "agent" ? "waiting_customer" : "waiting_agent"; }

    function renderButtons() {
      micBtn.textContent = micOn ? t.mute : t.unmute;
      micBtn.setAttribute("aria-pressed", String(!micOn));
      camBtn.textContent = camOn ? t.camera_off : t.camera_on;
      camBtn.setAttribute("aria-pressed", String(!camOn));
      box.classList.toggle("rdv-muted", !micOn);
      box.classList.toggle("rdv-camoff", !camOn);
      micBtn.disabled = camBtn.disabled = !stream || over;
      hangBtn.disabled = over;
      // What stays true whatever the connection does: no camera, or a muted microphone.
      noteLine.textContent = over ? "" : !stream && state !== "starting" ? t.nomedia : !micOn ? t.muted_note : "";
    }
    micBtn.onclick = function () {
      micOn = !micOn;
      if (stream) stream.getAudioTracks().forEach(function (tr) { tr.enabled = micOn; });
      renderButtons();
    };
    camBtn.onclick = function () {
      camOn = !camOn;
      if (stream) stream.getVideoTracks().forEach(function (tr) { tr.enabled = camOn; });
      renderButtons();
    };
    hangBtn.onclick = function () {
      if (opts.confirmHangUp !== false && !window.confirm(t.hang_up_confirm)) return;
      hangUp();
    };

    function send(obj) {
      if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj));
    }
    function signal(data) { send({ type: "signal", epoch: epoch, data: data }); }

    function closePC() {
      if (pc) {
        pc.onicecandidate = pc.ontrack = pc.onnegotiationneeded = pc.onconnectionstatechange = null;
        pc.close();
        pc = null;
      }
      remote.srcObject = null;
      makingOffer = ignoreOffer = false;
    }

    function startPC() {
      closePC();
      var p = new RTCPeerConnection({ iceServers: iceServers });
      pc = p;
      if (stream) {
        stream.getTracks().forEach(function (tr) { p.addTrack(tr, stream); });
      } else if (!polite) {
        // Without a camera we still want to see and hear the other side, so the side
        // that offers asks to receive. (The polite side just answers the offer.)
        p.addTransceiver("audio", { direction: "recvonly" });
        p.addTransceiver("video", { direction: "recvonly" });
      }
      p.ontrack = function (e) {
        if (pc !== p) return;
        remote.srcObject = e.streams && e.streams[0] ? e.streams[0] : new MediaStream([e.track]);
      };
      p.onicecandidate = function (e) {
        if (pc === p && e.candidate) signal({ candidate: e.candidate });
      };
      p.onnegotiationneeded = function () {
        // The first offer always comes from the impolite side (the agent), which the
        // server tells about its peer at the same moment as the polite side. Offering
        // from both ends and rolling one back works in principle, but Chrome then
        // sometimes never starts ICE; the polite side's tracks ride on its first answer
        // instead. Later renegotiations use the full perfect-negotiation dance.
        if (polite && !p.remoteDescription) { note("negotiationneeded: waiting for the first offer"); return; }
        makingOffer = true;
        note("negotiationneeded in " + p.signalingState);
        p.setLocalDescription()
          .then(function () {
            // An offer rolled back meanwhile (the other side's offer won) is not sent.
            if (pc !== p || p.signalingState !== "have-local-offer") return;
            note("send " + p.localDescription.type);
            signal({ description: p.localDescription });
          })
          .catch(function (err) { note("offer error " + err); })
          .then(function () { makingOffer = false; });
      };
      p.onconnectionstatechange = function () {
        if (pc !== p || over) return;
        note("connection " + p.connectionState);
        switch (p.connectionState) {
          case "connected": setState("connected"); break;
          case "disconnected": setState("reconnecting"); break;
          case "failed": setState("failed"); p.restartIce(); break;
        }
      };
      setState("negotiating");
    }

    function onSignal(data) {
      var p = pc;
      if (!p || !data) return Promise.resolve();
      if (data.description) {
        var d = data.description;
        var collision = d.type === "offer" && (makingOffer || p.signalingState !== "stable");
        ignoreOffer = !polite && collision;
        if (ignoreOffer) { note("ignore colliding offer"); return Promise.resolve(); }
        return p.setRemoteDescription(d).then(function () {
          if (d.type !== "offer" || pc !== p) return;
          return p.setLocalDescription().then(function () { note("send " + p.localDescription.type); signal({ description: p.localDescription }); });
        });
      }
      if (data.candidate) {
        return p.addIceCandidate(data.candidate).catch(function (err) {
          if (!ignoreOffer) throw err;
        });
      }
      return Promise.resolve();
    }

    function onMessage(ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      note("recv " + m.type + (m.type === "signal" && m.data ? (m.data.description ? " " + m.data.description.type : " candidate") : "") +
        (m.epoch !== undefined ? " epoch " + m.epoch : "") + (m.peer !== undefined ? " peer " + m.peer : "") + (m.present !== undefined ? " present " + m.present : ""));
      switch (m.type) {
        case "welcome":
          retries = 0;
          epoch = m.epoch;
          polite = !!m.polite;
          if (m.iceServers && m.iceServers.length) iceServers = m.iceServers;
          if (m.peer) startPC(); else { closePC(); setState(waitingState()); }
          break;
        case "peer":
          epoch = m.epoch;
          if (m.present) startPC(); else { closePC(); setState("peer_left"); }
          break;
        case "signal":
          chain = chain.then(function () { return onSignal(m.data); }).catch(function (err) { note("signal error " + err); });
          break;
        case "ended":
          finish("ended");
          break;
      }
    }

    function connect() {
      if (over) return;
      if (state !== "reconnecting") setState("connecting");
      ws = new WebSocket(wsURL(signalingURL));
      ws.onmessage = onMessage;
      ws.onclose = function (e) {
        ws = null;
        if (over) return;
        if (e.code === 4001) { finish("replaced"); return; }
        if (e.code === 4002) { finish("ended"); return; }
        // Anything else (network, server restart): keep the call if media still flows,
        // and reconnect signaling with backoff.
        if (!pc || pc.connectionState !== "connected") setState("reconnecting");
        var delay = Math.min(10000, 500 * Math.pow(2, retries++));
        retryTimer = setTimeout(connect, delay);
      };
    }

    function finish(s) {
      over = true;
      clearTimeout(retryTimer);
      closePC();
      if (stream) stream.getTracks().forEach(function (tr) { tr.stop(); });
      if (ws) { ws.onclose = null; ws.close(); ws = null; }
      setState(s);
      renderButtons();
      root.dispatchEvent(new CustomEvent("rendezvous-room-ended", { detail: { reason: s } }));
    }

    function hangUp() {
      if (over) return;
      send({ type: "hangup" });
      finish("ended");
    }

    if (!window.RTCPeerConnection || !navigator.mediaDevices || !window.WebSocket) {
      setState("unsupported");
      over = true;
      renderButtons();
      return handle();
    }

    setState("starting");
    renderButtons();
    navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } })
      .then(function (s) { stream = s; local.srcObject = s; })
      .catch(function () { setState("nomedia"); })
      .then(function () { renderButtons(); connect(); });

    function handle() {
      return {
        state: function () { return state; },
        // stats resolves to what this side receives: bytes and video frames, for
        // diagnostics and tests.
        stats: function () {
          if (!pc) return Promise.resolve({ bytesReceived: 0, framesDecoded: 0, audioBytesReceived: 0 });
          return pc.getStats().then(function (r) {
            var out = { bytesReceived: 0, framesDecoded: 0, audioBytesReceived: 0 };
            r.forEach(function (s) {
              if (s.type !== "inbound-rtp") return;
              out.bytesReceived += s.bytesReceived || 0;
              if (s.kind === "video") out.framesDecoded += s.framesDecoded || 0;
              if (s.kind === "audio") out.audioBytesReceived += s.bytesReceived || 0;
            });
            return out;
          });
        },
        hangUp: hangUp,
        // debug describes the connection for support and tests.
        debug: function () {
          return { state: state, epoch: epoch, polite: polite, log: log.slice(),
            signaling: pc && pc.signalingState, connection: pc && pc.connectionState, ice: pc && pc.iceConnectionState };
        },
        destroy: function () { finish("ended"); root.innerHTML = ""; }
      };
    }
    var h = handle();
    root.rendezvousRoom = h;
    return h;
  }

  // A page that only hosts the room (the agent's page, the customer's standalone page)
  // carries its options as JSON in <script type="application/json" id="rdv-room-config">.
  function autoMount() {
    var cfg = document.getElementById("rdv-room-config");
    var host = document.getElementById("rdv-room");
    if (!cfg || !host) return;
    try { mount(host, JSON.parse(cfg.textContent)); } catch (e) { host.textContent = String(e); }
  }

  window.RendezvousRoom = { mount: mount, labels: LABELS };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoMount);
  else autoMount();
})();
