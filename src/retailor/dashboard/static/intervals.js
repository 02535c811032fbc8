/* Retailor dashboard: interval charts (an experiment's effects with their intervals), drawn
 * with the vendored ECharts (custom series, SVG). No inline script: the Content Security
 * Policy forbids it.
 *
 * A chart is <div data-interval-chart="ID"> beside
 * <script type="application/json" id="ID">{"title", "rows": [{"label", "effect", "low",
 * "high", "seq_low", "seq_high"}]}</script> (dashboard/pages/experiments.py:
 * interval_chart). Each row is drawn as a point at the relative effect, a thick bar for its
 * 95 % interval and a thin bar below it for its always-valid interval, with a line at zero.
 */
(function () {
  "use strict";

  var COLORS = {ci: "#1f5fa8", seq: "#d9730d", zero: "#57606a"};
  var ROW_HEIGHT = 44;

  function percent(value) {
    if (value === null || value === undefined || isNaN(value)) return "–";
    return (value * 100).toFixed(1) + " %";
  }

  // the axis' end on one side: zero included, with a little room past the widest interval
  function bound(rows, pick) {
    var ends = [0];
    rows.forEach(function (r) { ends.push(r.low, r.high, r.seq_low, r.seq_high); });
    var lo = Math.min.apply(null, ends), hi = Math.max.apply(null, ends);
    var pad = (hi - lo) * 0.08 || 0.01;
    return pick === Math.min ? lo - pad : hi + pad;
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

  // one interval of a row: a bar from value(1) to value(2) at the row's height, shifted by
  // `offset` pixels, with end caps, and the point at value(3) when `point` is set
  function intervalItem(width, offset, point) {
    return function (params, api) {
      var row = api.value(0);
      var low = api.coord([api.value(1), row]);
      var high = api.coord([api.value(2), row]);
      var mid = api.coord([api.value(3), row]);
      var color = api.visual("color");
      var y = low[1] + offset;
      var cap = point ? 7 : 4;
      var children = [
        {type: "line", shape: {x1: low[0], y1: y, x2: high[0], y2: y},
         style: {stroke: color, lineWidth: width}},
        {type: "line", shape: {x1: low[0], y1: y - cap, x2: low[0], y2: y + cap},
         style: {stroke: color, lineWidth: 2}},
        {type: "line", shape: {x1: high[0], y1: y - cap, x2: high[0], y2: y + cap},
         style: {stroke: color, lineWidth: 2}}
      ];
      if (point) {
        children.push({type: "circle", shape: {cx: mid[0], cy: y, r: 5},
                       style: {fill: "#ffffff", stroke: color, lineWidth: 2}});
      }
      return {type: "group", children: children};
    };
  }

  function drawIntervals(el) {
    var data = readJson(el.getAttribute("data-interval-chart"));
    if (!data || typeof echarts === "undefined" || !data.rows.length) return;
    el.style.height = (data.rows.length * ROW_HEIGHT + 70) + "px";
    var rows = data.rows;
    var labels = rows.map(function (r) { return r.label; });
    var chart = echarts.init(el, null, {renderer: "svg"});
    chart.setOption({
      animation: false,
      textStyle: {fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
      grid: {left: 24, right: 24, top: 36, bottom: 8, containLabel: true},
      legend: {top: 0, data: [
        {name: "effect and 95 % interval", itemStyle: {color: COLORS.ci}},
        {name: "always-valid interval", itemStyle: {color: COLORS.seq}}
      ]},
      // rich-text tooltips are drawn in the SVG: no HTML is built from the data
      tooltip: {trigger: "item", renderMode: "richText", formatter: function (p) {
        var r = rows[p.value[0]];
        return r.label + "\neffect " + percent(r.effect) + "\n95 %: " + percent(r.low) +
          " to " + percent(r.high) + "\nalways-valid: " + percent(r.seq_low) + " to " +
          percent(r.seq_high);
      }},
      xAxis: {type: "value", min: bound(rows, Math.min), max: bound(rows, Math.max),
              axisLabel: {formatter: percent, showMinLabel: false, showMaxLabel: false}},
      yAxis: {type: "category", data: labels, inverse: true},
      series: [
        {name: "effect and 95 % interval", type: "custom", color: COLORS.ci,
         renderItem: intervalItem(4, -5, true), encode: {x: [1, 2, 3], y: 0},
         data: rows.map(function (r, i) { return [i, r.low, r.high, r.effect]; }),
         markLine: {silent: true, symbol: "none", label: {show: false},
                    lineStyle: {color: COLORS.zero, type: "dashed"}, data: [{xAxis: 0}]}},
        {name: "always-valid interval", type: "custom", color: COLORS.seq,
         renderItem: intervalItem(2, 7, false), encode: {x: [1, 2], y: 0},
         data: rows.map(function (r, i) { return [i, r.seq_low, r.seq_high, r.effect]; })}
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    document.querySelectorAll("[data-interval-chart]").forEach(drawIntervals);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
