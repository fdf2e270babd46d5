// 主动治理热点 (每月一题): the places and categories the policy's hotspot rule flags, from GET /api/v1/hotspots, drawn
// into #hotspots with the dashboard's own helpers (api, el, fill from dashboard.js). No libraries.
"use strict";

function hotspotMonths(hotspot, threshold) {
  // Each month of the range as a small bar, its count beneath; months over the threshold in red.
  const most = Math.max(threshold, ...hotspot.months.map((month) => month.complaints));
  const cells = hotspot.months.map((month) => {
    const over = month.complaints >= threshold;
    const height = Math.round((month.complaints / most) * 24);
    return el("span", { class: over ? "month hot" : "month", title: `${month.month}: ${month.complaints} 件` },
      el("i", { style: `height:${height}px` }),
      el("b", {}, month.complaints),
      el("small", {}, `${Number(month.month.slice(5))}月`));
  });
  return el("span", { class: "months" }, ...cells);
}

async function drawHotspots() {
  const report = await api("/api/v1/hotspots?by=grid&show=flagged");
  const rule = report.rule;
  const first = report.months[0] || "", last = report.months[report.months.length - 1] || "";
  document.getElementById("hotspot-rule").textContent =
    `${first}–${last}，每月 ${rule.min_complaints_per_month} 件以上满 ${rule.min_months} 个月：共 ${report.flagged} 处`;
  document.getElementById("hotspot-count").textContent = report.flagged;
  fill("hotspots", report.hotspots, (hotspot) =>
    el("tr", { "data-place": hotspot.place, "data-category": hotspot.category },
      el("td", {}, hotspot.rank),
      el("td", {}, hotspot.category_name),
      el("td", {}, `${hotspot.community_name} · ${hotspot.place_name}`),
      el("td", {}, hotspotMonths(hotspot, rule.min_complaints_per_month)),
      el("td", {}, hotspot.complaints),
      el("td", {}, hotspot.months_over),
      el("td", {}, hotspot.longest_run)));
}
