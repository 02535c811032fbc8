/* Retailor dashboard: draws the charts from the JSON blocks a page embeds and makes
 * tables sortable. No inline script anywhere: the Content Security Policy forbids it.
 *
 * A chart is <div class="chart-canvas" data-chart="ID"> beside
 * <script type="application/json" id="ID">{"kind", "title", "unit", "labels", "series", "stacked"?}</script>
 * (see dashboard/rendering.py: chart()). A sortable table is <table class="sortable">
 * whose header cells hold <button class="sort"> and carry data-sort="text" or "number";
 * a cell's data-value, when present, is what it sorts by.
 */
(function () {
  "use strict";

  var PALETTE = ["#1f5fa8", "#d9730d", "#2e8540", "#8e44ad", "#c0392b", "#607d8b"];

  function format(unit, value) {
    if (value === null || value === undefined || isNaN(value)) return "–";
    if (unit === "money") return Number(value).toLocaleString("en", {minimumFractionDigits: 2, maximumFractionDigits: 2});
    if (unit === "percent") return (value * 100).toFixed(1) + " %";
    return Number(value).toLocaleString("en", {maximumFractionDigits: 2});
  }

  function readJson(id) {
    var block = document.getElementById(id);
    if (!block || block.type !== "application/json") return null;
    try {
      return JSON.parse(block.textContent);
    } catch (err) {
      return null;
    }
  }

  function drawChart(el) {
    var data = readJson(el.getAttribute("data-chart"));
    if (!data || typeof echarts === "undefined") return;
    var chart = echarts.init(el, null, {renderer: "svg"});
    chart.setOption({
      animation: false,
      color: PALETTE,
      textStyle: {fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
      grid: {left: 8, right: 16, top: 36, bottom: 8, containLabel: true},
      legend: {top: 0, type: "scroll"},
      // rich-text tooltips are drawn in the SVG: no HTML is built from the data
      tooltip: {trigger: "axis", renderMode: "richText",
                valueFormatter: function (v) { return format(data.unit, v); }},
      xAxis: {type: "category", data: data.labels, boundaryGap: data.kind === "bar"},
      yAxis: {type: "value", axisLabel: {formatter: function (v) { return format(data.unit, v); }}},
      series: data.series.map(function (s) {
        return {name: s.name, type: data.kind, data: s.values, showSymbol: s.values.length < 60,
                barMaxWidth: 24, stack: data.stacked ? "total" : undefined};
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function cellValue(row, index, kind) {
    var cell = row.children[index];
    if (!cell) return "";
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    if (kind === "number") {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return raw.toLowerCase();
  }

  function sortBy(table, th) {
    var headers = Array.prototype.slice.call(th.parentNode.children);
    var index = headers.indexOf(th);
    var kind = th.getAttribute("data-sort") || "text";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, kind), y = cellValue(b, index, kind);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function makeSortable(table) {
    table.querySelectorAll("thead th[data-sort]").forEach(function (th) {
      var button = th.querySelector("button.sort");
      if (button) button.addEventListener("click", function () { sortBy(table, th); });
    });
  }

  function start() {
    document.querySelectorAll("[data-chart]").forEach(drawChart);
    document.querySelectorAll("table.sortable").forEach(makeSortable);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
