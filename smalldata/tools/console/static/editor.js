// The rule editor's live check: the text is checked as one types (the same check as `smalldata check`),
// errors are marked in the line gutter, and a suggestion can be applied with one click.
// Without this script the Check and Save buttons do the same through the server.
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  var text = document.getElementById("text");
  var gutter = document.getElementById("gutter");
  var result = document.getElementById("check-result");
  if (!form || !text || !gutter || !result) { return; }
  var name = form.getAttribute("data-name");
  var csrf = form.getAttribute("data-csrf");
  var timer = null, sent = 0;

  function drawGutter(marks) {
    var lines = text.value.split("\n").length;
    var bad = {};
    (marks || []).forEach(function (mark) { bad[mark.line] = mark.severity; });
    var html = [];
    for (var i = 1; i <= lines; i++) {
      html.push('<span class="' + (bad[i] || "") + '">' + i + "</span>");
    }
    gutter.innerHTML = html.join("");
    text.rows = lines + 1;  // the text area grows with the file, so its lines stay beside their numbers
    gutter.scrollTop = text.scrollTop;
  }

  function marksFromPage() {
    return Array.prototype.map.call(result.querySelectorAll(".problem"), function (item) {
      return {line: Number(item.getAttribute("data-line")), severity: item.classList.contains("error") ? "error" : "warning"};
    });
  }

  function goTo(line, col) {
    var lines = text.value.split("\n");
    var offset = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { offset += lines[i].length + 1; }
    offset += Math.max(0, col - 1);
    // the text area grows with the file, so the page scrolls, not the text area: bring the line into view
    // ourselves, above the view as well as below it (focus alone only scrolls down to the caret)
    text.focus({preventScroll: true});
    text.setSelectionRange(offset, offset);
    var style = window.getComputedStyle(text);
    var lineHeight = parseFloat(style.lineHeight) || text.scrollHeight / Math.max(lines.length + 1, 1);
    text.scrollTop = Math.max(0, (line - 5) * lineHeight);  // for a text area that does scroll
    var top = text.getBoundingClientRect().top + window.pageYOffset + (parseFloat(style.paddingTop) || 0) +
      (line - 1) * lineHeight - text.scrollTop;
    window.scrollTo(0, Math.max(0, top - window.innerHeight / 3));
  }

  function wire() {
    Array.prototype.forEach.call(result.querySelectorAll("button.fix"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var line = Number(button.getAttribute("data-line")), col = Number(button.getAttribute("data-col"));
        var wrong = button.getAttribute("data-wrong"), right = button.getAttribute("data-right");
        var lines = text.value.split("\n");
        var row = lines[line - 1] || "";
        if (row.substr(col - 1, wrong.length) === wrong) {
          lines[line - 1] = row.slice(0, col - 1) + right + row.slice(col - 1 + wrong.length);
          text.value = lines.join("\n");
          check();
        }
        goTo(line, col);
      });
    });
    Array.prototype.forEach.call(result.querySelectorAll(".problem a.where"), function (link) {
      var item = link.closest(".problem");
      if (link.getAttribute("href").indexOf("/edit/" + encodeURIComponent(name).replace(/%2F/g, "/") + "?") !== 0) { return; }
      link.addEventListener("click", function (event) {
        event.preventDefault();
        goTo(Number(item.getAttribute("data-line")), Number(item.getAttribute("data-col")));
      });
    });
  }

  function check() {
    var mine = ++sent;
    fetch("/check", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      credentials: "same-origin",
      body: JSON.stringify({name: name, text: text.value})
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (!answer || mine !== sent) { return; }  // a newer check is on its way
      result.innerHTML = answer.html;
      drawGutter(answer.marks);
      wire();
    }).catch(function () { /* the Check button still works */ });
  }

  text.addEventListener("input", function () {
    drawGutter(marksFromPage());
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
  text.addEventListener("scroll", function () { gutter.scrollTop = text.scrollTop; });
  wire();
  var params = new URLSearchParams(window.location.search);
  if (params.get("line")) { goTo(Number(params.get("line")), Number(params.get("col") || 1)); }
})();
