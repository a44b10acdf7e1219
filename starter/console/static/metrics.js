// Draws the Metrics page's charts from the JSON the page carries (no inline script, no network).
(function () {
  const data = JSON.parse(document.getElementById("trend").textContent);
  const grid = { color: "#e6e9ef" };
  // `whole`: the axis counts members or referrals, so it has no 0.2 of one
  const base = (yTitle, extra, whole) => ({
    responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { position: "bottom" } },
    scales: Object.assign({ x: { grid }, y: { beginAtZero: true, grid, title: { display: true, text: yTitle }, ticks: whole ? { precision: 0 } : {} } }, extra || {}),
  });
  const line = (label, values, color, axis) => ({ label, data: values, borderColor: color, backgroundColor: color, spanGaps: true, tension: 0.25, yAxisID: axis || "y" });
  const bars = (label, values, color) => ({ label, data: values, backgroundColor: color });
  window.tenureCharts = [
    new Chart(document.getElementById("chart-participation"), { type: "line", data: { labels: data.weeks, datasets: [line("participation %", data.participation, "#2456c9"), line("churn %", data.churn, "#b42318")] }, options: base("% of members") }),
    new Chart(document.getElementById("chart-active"), { type: "bar", data: { labels: data.weeks, datasets: [bars("weekly active members", data.active, "#2f7d5b")] }, options: base("members", null, true) }),
    new Chart(document.getElementById("chart-referrals"), { type: "bar", data: { labels: data.weeks, datasets: [bars("referrals", data.referrals, "#8a5cd1")] }, options: base("referrals", null, true) }),
    new Chart(document.getElementById("chart-redemption"), { type: "line", data: { labels: data.weeks, datasets: [line("redemption %", data.redemption, "#c77700"), line("satisfaction (1-5)", data.satisfaction, "#2a8fa6", "y2")] },
      options: base("% of points earned", { y2: { position: "right", min: 0, max: 5, grid: { drawOnChartArea: false }, title: { display: true, text: "score" } } }) }),
  ];
})();
