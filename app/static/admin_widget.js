// Administration / Booking widget: keeps the snippet and the preview in step with the
// builder's choices while they change, by asking the page itself (the server writes the
// snippet; this only swaps it in). Without it, "Update" does the same with a reload.
(function () {
  "use strict";
  var form = document.getElementById("builder");
  if (!form || !window.fetch || !window.DOMParser) return;
  var timer = 0, seq = 0;
  var swap = function (doc) {
    var mine = form.parentNode, theirs = doc.getElementById("builder");
    if (!theirs || doc.getElementById("errors")) return; // the button shows the problems
    // Drop this page's snippet and preview, put the new ones after the builder.
    while (form.nextElementSibling && form.nextElementSibling.tagName === "SECTION") mine.removeChild(form.nextElementSibling);
    var at = form.nextSibling;
    for (var n = theirs.nextElementSibling; n && n.tagName === "SECTION"; n = n.nextElementSibling) {
      mine.insertBefore(document.importNode(n, true), at);
    }
  };
  var update = function () {
    var q = new URLSearchParams(new FormData(form)).toString(), mine = ++seq;
    fetch(form.action + "?" + q, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (text) {
      if (mine !== seq) return; // a newer choice is on its way
      swap(new DOMParser().parseFromString(text, "text/html"));
      history.replaceState(null, "", form.action + "?" + q);
    }, function () { /* offline: the button still works */ });
  };
  ["input", "change"].forEach(function (k) {
    form.addEventListener(k, function () { clearTimeout(timer); timer = setTimeout(update, 350); });
  });
})();
