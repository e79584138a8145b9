/* Rendezvous scheduling widget loader. Embed with
   <script src="https://<rendezvous>/widget/widget.js" data-org="…" data-queue="…"
     data-chat-mode="genesys-web-messaging" data-language="en" data-theme="light"></script>
   It adds an iframe (isolated from this page's styles and scripts) right after the tag, or
   inside the element named by data-target, and keeps the iframe as tall as its content. */
(function () {
  "use strict";
  var s = document.currentScript;
  if (!s) return;
  var base = new URL(s.src).origin, d = s.dataset;
  var q = new URLSearchParams();
  q.set("org", d.org || "");
  q.set("queue", d.queue || "");
  q.set("chatMode", d.chatMode || "genesys-web-messaging");
  q.set("lang", d.language || document.documentElement.lang || navigator.language || "en");
  q.set("theme", d.theme || "light");
  q.set("origin", location.origin);
  try { q.set("tz", Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"); } catch (e) { q.set("tz", "UTC"); }
  ["color", "font", "radius"].forEach(function (k) { if (d[k]) q.set(k, d[k]); });
  var f = document.createElement("iframe");
  f.src = base + "/widget/frame?" + q.toString();
  f.title = d.title || "Book a video appointment";
  f.style.cssText = "border:0;width:100%;max-width:" + (d.maxWidth || "520px") + ";height:360px;display:block;background:transparent";
  window.addEventListener("message", function (e) {
    if (e.origin !== base || e.source !== f.contentWindow || !e.data) return;
    var h = Number(e.data.rendezvousWidgetHeight);
    if (h > 0 && h < 10000) f.style.height = Math.ceil(h) + "px";
  });
  var target = d.target && document.getElementById(d.target);
  if (target) target.appendChild(f); else s.parentNode.insertBefore(f, s.nextSibling);
})();
