// Draws every [data-chart] element with uPlot (vendored); the data attribute holds
// {"x": [unix seconds...], "series": [{"label", "values"}...]}. No inline script: the CSP allows none.
(function () {
  "use strict";
  var COLOURS = ["#2563eb", "#16a34a", "#9333ea", "#0891b2", "#dc2626", "#ca8a04", "#64748b"];

  function draw(el) {
    if (el.dataset.rendered === "true" || typeof uPlot === "undefined") return;
    var data = JSON.parse(el.dataset.chart);
    var series = [{}];
    var columns = [data.x];
    data.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2 });
      columns.push(s.values);
    });
    var width = Math.max(320, el.clientWidth || el.parentNode.clientWidth || 640);
    var chart = new uPlot({ width: width, height: 260, series: series, scales: { x: { time: true } } }, columns, el);
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
