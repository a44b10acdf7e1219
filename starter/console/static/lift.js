// The campaign page's lift chart: each outcome's rate, treated beside holdout (no network, no inline data).
(function () {
  const data = JSON.parse(document.getElementById("lift").textContent);
  const canvas = document.getElementById("chart-lift");
  if (!canvas || !data.labels.length) return;
  window.tenureLift = new Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: [
      { label: "treated %", data: data.treated, backgroundColor: "#2456c9" },
      { label: "holdout %", data: data.holdout, backgroundColor: "#9aa6bd" },
    ] },
    options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } },
               scales: { y: { beginAtZero: true, title: { display: true, text: "% of the group" } } } },
  });
})();
