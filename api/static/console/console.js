// Keyboard navigation of the queue (progressive enhancement; the page works without it):
// j / k move between rows, Enter opens the current one, a approves it after a confirmation
// (it selects only that row and submits the batch form, whose confirmation page follows).
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.queue tr.row"));
  if (!rows.length) { return; }
  var current = -1;
  function move(to) {
    if (to < 0 || to >= rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove("current"); }
    current = to;
    rows[current].classList.add("current");
    var link = rows[current].querySelector("a.open");
    if (link) { link.focus(); }
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) { return; }
    if (e.key === "j") { move(current + 1); e.preventDefault(); }
    else if (e.key === "k") { move(Math.max(current - 1, 0)); e.preventDefault(); }
    else if (e.key === "Enter" && current >= 0 && t === document.body) {
      window.location.href = rows[current].getAttribute("data-href");
    } else if (e.key === "a" && current >= 0) {
      var box = rows[current].querySelector("input[type=checkbox]");
      if (!box) { return; }
      e.preventDefault();
      var form = document.getElementById("batch");
      Array.prototype.forEach.call(form.querySelectorAll("input[type=checkbox]"), function (b) { b.checked = false; });
      box.checked = true;
      form.submit();
    }
  });
})();
