/* The supervisors' dashboards (ADR 0041): each [data-chart] element is drawn with ECharts
   from the JSON of the <script type="application/json"> element it names (json_script).
   No inline script (CSP); the table beside each chart holds the same figures. */
(function () {
  "use strict";

  function option(data) {
    var tooltip = { renderMode: "richText" }; // no inline styles in HTML tooltips (CSP)
    if (data.type === "pie") {
      var s = data.series[0];
      return {
        aria: { enabled: true },
        tooltip: Object.assign({ trigger: "item" }, tooltip),
        legend: { bottom: 0, type: "scroll" },
        series: [{
          name: s.name,
          type: "pie",
          radius: ["35%", "65%"],
          data: data.labels.map(function (label, i) { return { name: label, value: s.values[i] }; })
        }]
      };
    }
    return {
      aria: { enabled: true },
      tooltip: Object.assign({ trigger: "axis" }, tooltip),
      legend: data.series.length > 1 ? { top: 0 } : undefined,
      grid: { left: 8, right: 16, top: data.series.length > 1 ? 32 : 16, bottom: 8, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: data.labels, axisLabel: { width: 220, overflow: "truncate" } },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", data: s.values, label: { show: true, position: "right" } };
      })
    };
  }

  function draw() {
    if (typeof window.echarts === "undefined") return;
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var rows = data.labels.length;
      if (data.type !== "pie") el.style.height = Math.max(180, 40 + rows * 28) + "px";
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(data));
      el.setAttribute("data-chart-drawn", "true");
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
