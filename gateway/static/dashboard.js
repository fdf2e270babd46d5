// 督办看板: reads the gateway's JSON API with a supervisor's key and draws the page. No libraries.
"use strict";

const KEY_STORE = "whistle-dashboard-key";
let labels = { events: {}, values: {}, fields: {}, names: {} };
const hashParams = new URLSearchParams(location.hash.slice(1));

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "onclick") node.addEventListener("click", value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const nameOf = (code) => labels.names[code] || code || "";
const valueOf = (field, value) => (labels.values[field] || {})[String(value)] || value;
const percent = (rate) => (rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`);
function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
}

async function api(path) {
  const response = await fetch(path, { headers: { "X-API-Key": sessionStorage.getItem(KEY_STORE) || "" } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status} ${body.field}: ${body.reason}`);
  return body;
}

function fill(tableId, rows, render) {
  const body = document.querySelector(`#${tableId} tbody`);
  const columns = document.querySelectorAll(`#${tableId} thead th`).length;
  body.replaceChildren(...(rows.length ? rows.map(render) : [el("tr", {}, el("td", { colspan: columns, class: "empty" }, "暂无 none"))]));
}

function caseLink(id) {
  return el("a", { class: "case", "data-case": id, onclick: () => showTimeline(id) }, id);
}

function caseRow(item, last) {
  return el("tr", {},
    el("td", {}, caseLink(item.complaint_id)),
    el("td", {}, nameOf(item.community)),
    el("td", {}, nameOf(item.category)),
    el("td", {}, valueOf("stage", item.stage)),
    el("td", {}, last(item)));
}

function rankRow(group) {
  const board = group.board || group.list;
  const mark = board === "red" ? " 红榜" : board === "black" ? " 黑榜" : "";
  return el("tr", { class: board || "" },
    el("td", { class: board ? `board-${board}` : "" }, `${group.rank ?? "—"}${mark}`),
    el("td", {}, group.name || nameOf(group.group)),
    el("td", {}, group.cases),
    el("td", {}, percent(group.response_rate)),
    el("td", {}, percent(group.resolution_rate)),
    el("td", {}, percent(group.satisfaction_rate)),
    el("td", {}, group.overdue),
    el("td", {}, group.escalated));
}

function drawChart(points, today) {
  // One line per community: its score in each daily snapshot, with today's live report as the last point.
  const series = new Map();
  for (const point of [...points, ...today]) {
    if (point.score === null || point.score === undefined) continue;
    if (!series.has(point.group)) series.set(point.group, { name: point.name || nameOf(point.group), values: [] });
    series.get(point.group).values.push([point.day, point.score]);
  }
  const days = [...new Set([...points, ...today].map((point) => point.day))].sort();
  const chart = document.getElementById("chart");
  if (!series.size) {
    chart.replaceChildren(el("p", { class: "empty" }, "暂无评分 no scores yet"));
    return;
  }
  const width = 900, height = 260, left = 44, right = 150, top = 12, bottom = 28;
  const x = (day) => left + (days.length === 1 ? (width - left - right) / 2 : (days.indexOf(day) * (width - left - right)) / (days.length - 1));
  const y = (score) => top + (1 - score) * (height - top - bottom);
  const colours = ["#c0392b", "#2471a3", "#229954", "#b9770e", "#7d3c98", "#17a589", "#566573", "#cb4335"];
  const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "community scores over time" });
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    plot.append(svg("line", { class: "axis", x1: left, x2: width - right, y1: y(tick), y2: y(tick) }));
    plot.append(svg("text", { x: 4, y: y(tick) + 4 }, `${tick * 100}%`));
  }
  days.forEach((day) => plot.append(svg("text", { x: x(day) - 28, y: height - 8 }, day)));
  [...series.values()].forEach((line, index) => {
    const colour = colours[index % colours.length];
    const coords = line.values.map(([day, score]) => `${x(day)},${y(score)}`);
    plot.append(svg("polyline", { points: coords.join(" "), fill: "none", stroke: colour, "stroke-width": 2 }));
    line.values.forEach(([day, score]) => plot.append(svg("circle", { cx: x(day), cy: y(score), r: 3.5, fill: colour })));
    plot.append(svg("text", { x: width - right + 8, y: top + 14 + index * 16, fill: colour, style: `fill:${colour}` }, line.name));
  });
  chart.replaceChildren(plot);
}

function recentRow(item) {
  const row = caseRow(item, (it) => when(it.filed_at));
  row.children[1].after(el("td", {}, nameOf(item.grid)));
  return row;
}

let chosenGrid = null;

// The case list shows one grid's cases (a click on the map) or, with `code` null, the most recent of all.
async function showGrid(code) {
  chosenGrid = code;
  GridMap.select(document.getElementById("map"), code);
  document.getElementById("all-grids").hidden = !code;
  document.getElementById("recent-title").replaceChildren(
    code ? `网格 ${nameOf(code)} 的案件 ` : "最近案件 ",
    el("small", {}, code ? "Cases of the grid, newest first — click for the timeline" : "Recent cases — click for the timeline"));
  const table = document.getElementById("recent");
  table.setAttribute("aria-busy", "true");
  try {
    const path = code ? `/api/v1/complaints?grid=${encodeURIComponent(code)}&limit=50` : "/api/v1/complaints?limit=20";
    const found = await api(path);
    if (chosenGrid !== code) return;  // another grid was clicked meanwhile
    fill("recent", found, recentRow);
  } catch (error) {
    fill("recent", [], recentRow);
    document.getElementById("status").textContent = `无法加载 could not load: ${error.message}`;
  }
  table.dataset.grid = code || "";
  table.removeAttribute("aria-busy");
}

const ISO_MOMENT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

function describe(entry) {
  const skip = new Set(["seq", "at", "type", "actor"]);
  return Object.entries(entry)
    .filter(([field, value]) => !skip.has(field) && value !== null && value !== "" && !(Array.isArray(value) && !value.length))
    .map(([field, value]) => {
      let shown;
      if (Array.isArray(value)) shown = value.map(nameOf).join("、");
      else if (typeof value === "object" && "kind" in value && "id" in value) shown = nameOf(value.id);  // an actor
      else if (typeof value === "object") shown = JSON.stringify(value);
      else if (typeof value === "boolean") shown = value ? "是" : "否";
      else if (typeof value === "string" && ISO_MOMENT.test(value)) shown = when(value);
      else shown = nameOf(valueOf(field, value));
      return `${labels.fields[field] || field}: ${shown}`;
    })
    .join("；");
}

async function showTimeline(id) {
  document.getElementById("timeline-case").textContent = id;
  const list = document.getElementById("timeline");
  try {
    const entries = await api(`/api/v1/complaints/${encodeURIComponent(id)}/history`);
    list.replaceChildren(...entries.map((entry) => el("li", { "data-type": entry.type },
      el("span", { class: "at" }, when(entry.at)),
      el("span", { class: "type" }, `${labels.events[entry.type] || entry.type} ${entry.type}`),
      el("span", { class: "detail" }, describe(entry)))));
  } catch (error) {
    list.replaceChildren(el("li", { class: "empty" }, String(error.message)));
  }
}

async function load() {
  const status = document.getElementById("status");
  status.textContent = "加载中 loading…";
  try {
    labels = await api("/api/v1/labels");
    const [overdue, escalated, flagged, recent, communities, departments, snapshots, grids] = await Promise.all([
      api("/api/v1/complaints?overdue=true&limit=100"),
      api("/api/v1/complaints?escalated=true&limit=100"),
      api("/api/v1/complaints?flagged=true&limit=100"),
      api("/api/v1/complaints?limit=20"),
      api("/api/v1/reports/community"),
      api("/api/v1/reports/department"),
      api("/api/v1/reports/community/snapshots?days=30"),
      api("/api/v1/map"),
    ]);
    document.getElementById("overdue-count").textContent = overdue.length;
    document.getElementById("escalated-count").textContent = escalated.length;
    document.getElementById("flagged-count").textContent = flagged.length;
    document.getElementById("open-count").textContent = grids.grids.reduce((sum, grid) => sum + grid.open, 0);
    const withDepartments = (item) => {
      const row = caseRow(item, (it) => when(it.next_deadline));
      row.children[3].after(el("td", {}, item.departments.map(nameOf).join("、")));
      return row;
    };
    fill("overdue", overdue, withDepartments);
    fill("flagged", flagged, withDepartments);
    fill("escalated", escalated, (item) => {
      const row = caseRow(item, (it) => when(it.next_deadline));
      row.children[3].after(el("td", {}, valueOf("escalation_level", item.escalation_level)));
      return row;
    });
    fill("recent", recent, recentRow);
    fill("rank-community", communities.groups, rankRow);
    fill("rank-department", departments.groups, rankRow);
    await drawHotspots();  // hotspots.js
    const today = new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
    const live = communities.groups.map((group) => ({ ...group, day: today }));
    drawChart(snapshots.filter((point) => point.day !== today), live);
    document.getElementById("board").hidden = false;
    // Drawn once the board shows: its labels are fitted to the grids' drawn size.
    GridMap.draw(document.getElementById("map"), grids, (grid) => showGrid(grid.grid === chosenGrid ? null : grid.grid));
    status.textContent = `更新于 updated ${when(new Date().toISOString())}`;
    if (chosenGrid) await showGrid(chosenGrid);  // loaded again: the chosen grid stays chosen
    const first = (escalated[0] || overdue[0] || recent[0] || {}).complaint_id;
    const chosen = hashParams.get("case") || first;
    if (chosen) await showTimeline(chosen);
  } catch (error) {
    status.textContent = `无法加载 could not load: ${error.message}`;
  }
}

document.getElementById("all-grids").addEventListener("click", () => showGrid(null));

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORE, document.getElementById("key").value.trim());
  load();
});

const fromHash = hashParams.get("key");
if (fromHash) {
  sessionStorage.setItem(KEY_STORE, fromHash);
  history.replaceState(null, "", location.pathname);  // the key does not stay in the address bar
}
if (sessionStorage.getItem(KEY_STORE)) load();
