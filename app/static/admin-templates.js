// The templates editor (/app/admin/templates): small enhancements over a page that works
// without them.
// - changing the event, channel or language shows that template at once;
// - the Insert buttons put a {variable} where the cursor is, in the field last used;
// - while typing, the preview and the SMS counter follow: the form is posted to
//   /app/admin/templates/preview (debounced), whose answer carries the rendered text and
//   the counter worked out by the server, the one place the GSM-7/UCS-2 rule lives.
(function () {
  "use strict";
  var pick = document.getElementById("template-pick");
  var form = document.getElementById("template-form");
  if (!pick || !form) return;

  pick.addEventListener("change", function () { pick.submit(); });

  var last = document.getElementById("f-text");
  form.addEventListener("focusin", function (ev) {
    if (ev.target.matches("textarea, input[name=subject]")) last = ev.target;
  });

  document.querySelectorAll(".insert-var").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var f = last || document.getElementById("f-text");
      var v = b.getAttribute("data-var");
      var start = f.selectionStart, end = f.selectionEnd;
      if (typeof start !== "number") { start = end = f.value.length; }
      f.value = f.value.slice(0, start) + v + f.value.slice(end);
      f.focus();
      f.setSelectionRange(start + v.length, start + v.length);
      schedule();
    });
  });

  var timer = 0, seq = 0;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }
  function set(id, text) {
    var e = document.getElementById(id);
    if (e) e.textContent = text || "";
  }
  function refresh() {
    var mine = ++seq;
    var body = new URLSearchParams(new FormData(form));
    body.delete("action");
    fetch("/app/admin/templates/preview", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) { return r.json(); }).then(function (p) {
      if (mine !== seq) return; // a later keystroke's answer is on its way
      var problem = document.getElementById("preview-problem");
      problem.hidden = !p.problem;
      problem.textContent = p.problem || "";
      if (p.problem) return;
      set("preview-subject", p.subject);
      set("preview-text", p.text);
      var frame = document.getElementById("preview-html");
      if (frame) { frame.hidden = !p.html; frame.srcdoc = p.html || ""; }
      set("sms-count", p.sms);
      set("sms-longest", p.longest);
      var count = document.getElementById("sms-count");
      if (count) count.setAttribute("data-encoding", p.encoding || "");
    }).catch(function () { /* the Preview button still works */ });
  }
  form.addEventListener("input", schedule);
})();
