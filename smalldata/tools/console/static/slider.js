// The Try page's time slider: shows which rules are on at the chosen time of day, without a round trip.
// Without this script the slider's form still works: "Try at this time" asks the server.
(function () {
  "use strict";
  var day = document.querySelector(".day");
  var range = document.getElementById("minutes");
  if (!day || !range) { return; }
  var output = document.getElementById("minutes-out");
  var onNow = document.getElementById("on-now");
  var stepMinutes = Number(day.getAttribute("data-step-minutes")) || 15;
  var rows = Array.prototype.slice.call(day.querySelectorAll("tr[data-steps]"));

  function clock(minutes) {
    var h = Math.floor(minutes / 60), m = minutes % 60;
    return (h < 10 ? "0" : "") + h + ":" + (m < 10 ? "0" : "") + m;
  }

  function show() {
    var minutes = Number(range.value);
    var step = Math.floor(minutes / stepMinutes);
    var time = clock(minutes);
    var on = [];
    rows.forEach(function (row) {
      var isOn = row.getAttribute("data-steps").charAt(step) === "m";
      row.classList.toggle("is-on", isOn);
      if (isOn) { on.push(row.getAttribute("data-rule")); }
      var line = row.querySelector("line.now");
      if (line) { line.setAttribute("x1", step + 0.5); line.setAttribute("x2", step + 0.5); }
    });
    output.textContent = time;
    range.setAttribute("aria-valuetext", time);
    onNow.textContent = on.length
      ? day.getAttribute("data-on-text").replace("{time}", time).replace("{rules}", on.join(", "))
      : day.getAttribute("data-none-text").replace("{time}", time);
  }

  range.addEventListener("input", show);
})();
