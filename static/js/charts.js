// Draws every [data-chart] element with uPlot (vendored); the data attribute holds
// {"x": [unix seconds...], "series": [{"label", "values"}...]}, or bars when it also has "categories" (x is then
// each category's position). No inline script: the CSP allows none.
(function () {
  "use strict";
  var COLOURS = ["#2563eb", "#16a34a", "#9333ea", "#0891b2", "#dc2626", "#ca8a04", "#64748b"];

  function draw(el) {
    if (el.dataset.rendered === "true" || typeof uPlot === "undefined") return;
    var data = JSON.parse(el.dataset.chart);
    var names = data.categories;
    var series = [names ? { value: function (u, i) { return names[i]; } } : {}];
    var columns = [data.x];
    data.series.forEach(function (s, i) {
      var colour = COLOURS[i % COLOURS.length];
      var line = { label: s.label, stroke: colour, width: 2 };
      if (names) {
        line.fill = colour;
        line.paths = uPlot.paths.bars({ size: [0.8 / Math.max(1, data.series.length)], align: 0 });
        line.points = { show: false };
      }
      series.push(line);
      columns.push(s.values);
    });
    var width = Math.max(320, el.clientWidth || el.parentNode.clientWidth || 640);
    var options = { width: width, height: 260, series: series, scales: { x: { time: !names } } };
    if (names) {
      options.scales.x.range = function () { return [-0.5, names.length - 0.5]; };
      options.axes = [{ splits: function () { return data.x; },
                        values: function (u, splits) { return splits.map(function (i) { return names[i]; }); } }, {}];
    }
    var chart = new uPlot(options, columns, el);
    el.dataset.rendered = "true";
    window.addEventListener("resize", function () {
      chart.setSize({ width: Math.max(320, el.clientWidth || 640), height: 260 });
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
})();
