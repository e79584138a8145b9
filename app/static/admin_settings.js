// Administration settings pages: the waiting-room preview follows the call scheduling
// form as it is typed; an erasure in progress is shown again until it is done.
(function () {
  "use strict";
  var frame = document.getElementById("waiting-preview");
  var form = document.getElementById("scheduling-form");
  if (frame && form) {
    var timer = 0, last = frame.getAttribute("src");
    var update = function () {
      var media = form.querySelector('input[name="media"]:checked');
      var q = new URLSearchParams();
      q.set("media", media ? media.value : "none");
      q.set("media_url", form.elements.media_url.value.trim());
      q.set("opens_early", form.elements.opens_early.value.trim());
      q.set("lang", frame.dataset.lang || "");
      var src = frame.dataset.base + "?" + q.toString();
      if (src !== last) { last = src; frame.src = src; }
    };
    var soon = function () { clearTimeout(timer); timer = setTimeout(update, 250); };
    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
  }
  // A file over the limit is refused before it travels.
  var file = document.getElementById("f-file");
  if (file) {
    file.addEventListener("change", function () {
      var f = file.files && file.files[0];
      file.setCustomValidity(f && f.size > Number(file.dataset.maxBytes) ? file.dataset.tooLarge : "");
      file.reportValidity();
    });
  }
  var pending = document.querySelector("[data-refresh]");
  if (pending) {
    setTimeout(function () { location.reload(); }, Number(pending.dataset.refresh) || 2000);
  }
})();
