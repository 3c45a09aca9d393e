// Sort a table by a column when its header is clicked (or Enter/Space on it): numbers as numbers,
// text as text, rows whose cell holds no number after the rest. Nothing else: the page works without it.
"use strict";
(function () {
  function key(cell) {
    var text = cell.textContent.trim();
    var n = parseFloat(text);
    return isNaN(n) ? { text: text } : { num: n, text: text };
  }
  function compare(a, b) {
    if (a.num !== undefined && b.num !== undefined) return a.num - b.num;
    if (a.num !== undefined) return -1;
    if (b.num !== undefined) return 1;
    return a.text.localeCompare(b.text);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    heads.forEach(function (th, col) {
      th.tabIndex = 0;
      th.title = "sort by " + th.textContent;
      function sort() {
        var body = table.tBodies[0];
        var up = th.getAttribute("aria-sort") !== "ascending";
        var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
          return { row: row, key: key(row.cells[col]), i: i };
        });
        rows.sort(function (a, b) {
          var c = compare(a.key, b.key);
          return (up ? c : -c) || a.i - b.i;
        });
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        rows.forEach(function (r) { body.appendChild(r.row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  });
  // Lets a headless browser check that the script ran to its end.
  document.documentElement.setAttribute("data-ready", "yes");
})();
