// The manager's two charts, drawn from the figures the page carries.
document.addEventListener("DOMContentLoaded", () => {
  const figures = JSON.parse(document.getElementById("figures").textContent);
  const names = JSON.parse(document.getElementById("series-labels").textContent);
  const colours = { satisfied: "#1e7b34", average: "#a86400", dissatisfied: "#b3261e",
    due: "#8fb4dd", valid: "#0b5cad", complaints: "#7a4fa0" };
  const options = { responsive: true, animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } };
  new Chart(document.getElementById("grades"), {
    type: "bar",
    data: { labels: figures.labels, datasets: ["satisfied", "average", "dissatisfied"].map((g) => (
      { label: names[g], data: figures.grades[g], backgroundColor: colours[g], stack: "grades" })) },
    options: { ...options, scales: { x: { stacked: true }, y: { ...options.scales.y, stacked: true } } },
  });
  new Chart(document.getElementById("coverage"), {
    type: "bar",
    data: { labels: figures.labels, datasets: ["due", "valid", "complaints"].map((k) => (
      { label: names[k], data: figures[k], backgroundColor: colours[k] })) },
    options,
  });
  const visits = figures.visits;
  new Chart(document.getElementById("ontime"), {
    type: "bar",
    data: { labels: visits.labels, datasets: [
      { label: names.on_time, data: visits.on_time, backgroundColor: colours.satisfied, stack: "visits" },
      { label: names.late, data: visits.late, backgroundColor: colours.average, stack: "visits" },
      { label: names.missed, data: visits.missed, backgroundColor: "#5f6368", stack: "missed" },
      { label: names.sla_breaches, data: visits.sla_breaches, backgroundColor: colours.dissatisfied, stack: "sla" },
    ] },
    options: { ...options, scales: { x: { stacked: true }, y: { ...options.scales.y, stacked: true } } },
  });
  const outlets = figures.outlets;
  new Chart(document.getElementById("outlets"), {
    type: "bar",
    data: { labels: outlets.labels, datasets: [
      { label: names.complaints, data: outlets.complaints, backgroundColor: colours.complaints, yAxisID: "y" },
      { label: names.fines_yuan, data: outlets.fines_fen.map((fen) => fen / 100), backgroundColor: colours.dissatisfied, yAxisID: "yuan" },
    ] },
    options: { ...options, scales: { y: options.scales.y,
      yuan: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } },
  });
});
