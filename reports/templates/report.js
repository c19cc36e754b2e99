(function () {
  "use strict";
  /* Progressive enhancement only: without this script every table is a plain table
     and every command is selectable text. Tables with class "sortable" get header
     buttons; an input[data-filter-for=ID] filters the rows of table#ID; a
     select[data-filter-attr] keeps the rows whose attribute (a list of words)
     has the selected word;
     button.copy copies the text of the element its data-copy names. */
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});

  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var key = cell.getAttribute("data-sort");
    return key === null ? cell.textContent.trim() : key;
  }

  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) { return x - y; }
    return collator.compare(a, b);
  }

  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, index) {
      if (th.hasAttribute("data-nosort")) { return; }
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var keyed = rows.map(function (row, i) { return [cellKey(row, index), i, row]; });
        keyed.sort(function (p, q) {
          var c = compare(p[0], q[0]);
          return (ascending ? c : -c) || p[1] - q[1];
        });
        var fragment = document.createDocumentFragment();
        keyed.forEach(function (k) { fragment.appendChild(k[2]); });
        body.appendChild(fragment);
      });
    });
  }

  function makeFilter(box) {
    var table = document.getElementById(box.getAttribute("data-filter-for"));
    if (!table || !table.tBodies[0]) { return; }
    box.hidden = false;
    var input = box.querySelector("input");
    var select = box.querySelector("select[data-filter-attr]");
    var counter = box.querySelector("[data-count]");
    var texts = null;
    function apply() {
      var rows = table.tBodies[0].rows;
      if (texts === null) {
        texts = new Map();
        Array.prototype.forEach.call(rows, function (r) { texts.set(r, r.textContent.toLowerCase()); });
      }
      var words = input ? input.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
      var attr = select ? select.getAttribute("data-filter-attr") : null;
      var wanted = select ? select.value : "";
      var shown = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var text = texts.get(row) || "";
        var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
        if (ok && wanted) {
          ok = (" " + (row.getAttribute(attr) || "") + " ").indexOf(" " + wanted + " ") !== -1;
        }
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (counter) { counter.textContent = shown + " of " + rows.length + " shown"; }
    }
    if (input) { input.addEventListener("input", apply); }
    if (select) { select.addEventListener("change", apply); }
  }

  function copyText(text, button) {
    function done(ok) {
      button.textContent = ok ? "copied" : "select and copy";
      window.setTimeout(function () { button.textContent = "copy"; }, 1500);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      done(false);
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter-for]"), makeFilter);
  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    button.hidden = false;
    button.addEventListener("click", function () { copyText(source.textContent, button); });
  });
  document.documentElement.setAttribute("data-js", "ready");
}());
