// 网格地图: draws the grids of GET /api/v1/map as an inline SVG, each filled by its open cases. No tiles, no
// libraries, nothing fetched: the boundaries are the org directory's GeoJSON (longitude, latitude), projected here.
"use strict";

const GridMap = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const WIDTH = 640, MIN_HEIGHT = 320, MAX_HEIGHT = 760, PAD = 16;
  // Open cases, light to dark (ColorBrewer OrRd); a grid with none is left pale.
  const SHADES = ["#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"];
  const NONE = "#eef2f6";

  function node(tag, attrs, ...children) {
    const made = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) made.setAttribute(name, value);
    for (const child of children) made.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return made;
  }

  // A boundary's polygons, each a list of rings of [lon, lat]: Polygon and MultiPolygon alike.
  const polygonsOf = (boundary) => (boundary.type === "Polygon" ? [boundary.coordinates] : boundary.coordinates);

  // Longitude and latitude to the SVG box: equirectangular, longitude shrunk by the cosine of the middle
  // latitude so that a grid keeps its shape (at a district's size the earth is flat enough), fitted and centred.
  // The box is WIDTH wide and as tall as the district's shape asks, within MIN_HEIGHT and MAX_HEIGHT.
  function projection(grids) {
    let west = Infinity, east = -Infinity, south = Infinity, north = -Infinity;
    for (const grid of grids)
      for (const polygon of polygonsOf(grid.boundary))
        for (const [lon, lat] of polygon[0]) {
          west = Math.min(west, lon); east = Math.max(east, lon);
          south = Math.min(south, lat); north = Math.max(north, lat);
        }
    const squeeze = Math.cos(((south + north) / 2) * Math.PI / 180);
    const spanX = Math.max((east - west) * squeeze, 1e-9), spanY = Math.max(north - south, 1e-9);
    const height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, ((WIDTH - 2 * PAD) * spanY) / spanX + 2 * PAD));
    const scale = Math.min((WIDTH - 2 * PAD) / spanX, (height - 2 * PAD) / spanY);
    const left = (WIDTH - spanX * scale) / 2, top = (height - spanY * scale) / 2;
    const project = ([lon, lat]) => [left + (lon - west) * squeeze * scale, top + (north - lat) * scale];
    project.height = height;
    return project;
  }

  function pathOf(boundary, project) {
    const rings = polygonsOf(boundary).flat();
    return rings.map((ring) => "M" + ring.map((point) => project(point).map((v) => v.toFixed(1)).join(",")).join("L") + "Z").join("");
  }

  // Where a grid's label goes: the centroid of its largest outer ring (area-weighted, in SVG coordinates).
  function labelPoint(boundary, project) {
    let best = null;
    for (const polygon of polygonsOf(boundary)) {
      const points = polygon[0].map(project);
      let area = 0, x = 0, y = 0;
      for (let i = 0; i < points.length - 1; i++) {
        const [x0, y0] = points[i], [x1, y1] = points[i + 1];
        const cross = x0 * y1 - x1 * y0;
        area += cross; x += (x0 + x1) * cross; y += (y0 + y1) * cross;
      }
      if (area === 0) continue;
      const found = { area: Math.abs(area / 2), x: x / (3 * area), y: y / (3 * area) };
      if (!best || found.area > best.area) best = found;
    }
    return best || { x: 0, y: 0 };
  }

  // The colour classes for counts up to `most`: one per count up to five, else at most five equal ranges; their
  // shades spread over the whole palette, so the busiest grid is always the darkest.
  function classes(most) {
    if (most <= 0) return [];
    const step = Math.ceil(most / SHADES.length);
    const count = Math.ceil(most / step);
    const found = [];
    for (let index = 0; index < count; index++) {
      const low = 1 + index * step;
      const shade = SHADES[count === 1 ? 2 : Math.round((index * (SHADES.length - 1)) / (count - 1))];
      found.push({ low, high: Math.min(low + step - 1, most), shade });
    }
    return found;
  }

  const shadeOf = (open, scale) => (open > 0 ? scale.find((c) => open >= c.low && open <= c.high).shade : NONE);

  // The grid's name without its community's (红旗社区第一网格 reads 第一网格 inside 红旗社区).
  const shortName = (grid) => (grid.name.startsWith(grid.community_name) ? grid.name.slice(grid.community_name.length) : grid.name) || grid.grid;

  function tipText(grid) {
    return [`网格 ${grid.name}（${grid.community_name}）`, `在办 ${grid.open}`, `超期 ${grid.overdue}`, `已升级 ${grid.escalated}`];
  }

  // Draws `data` (the /api/v1/map answer) into `container`; `onSelect(grid)` is called with the clicked grid.
  function draw(container, data, onSelect) {
    // Late grids are drawn last, so that no neighbour's edge covers their red outline.
    const drawn = data.grids.filter((grid) => grid.boundary).sort((a, b) => (a.overdue > 0) - (b.overdue > 0));
    const scale = classes(Math.max(0, ...data.grids.map((grid) => grid.open)));
    const project = drawn.length ? projection(drawn) : null;
    const height = project ? project.height : MIN_HEIGHT;
    const plot = node("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": `${data.district} 网格地图 grid map` });
    const tip = document.createElement("div");
    tip.className = "map-tip";
    tip.hidden = true;
    const shapes = node("g", { class: "shapes" }), labels = node("g", { class: "labels" });
    plot.append(shapes, labels);
    for (const grid of drawn) {
      const shape = node("path", {
        class: "grid" + (grid.overdue > 0 ? " late" : ""), d: pathOf(grid.boundary, project), "fill-rule": "evenodd",
        fill: shadeOf(grid.open, scale), "data-grid": grid.grid, "data-open": grid.open,
        "data-overdue": grid.overdue, "data-escalated": grid.escalated, tabindex: 0,
      }, node("title", {}, tipText(grid).join("\n")));
      const show = (event) => {
        tip.replaceChildren(...tipText(grid).map((line, index) => {
          const row = document.createElement(index ? "div" : "strong");
          row.textContent = line;
          return row;
        }));
        tip.hidden = false;
        const box = container.getBoundingClientRect();
        tip.style.left = `${event.clientX - box.left + 14}px`;
        tip.style.top = `${event.clientY - box.top + 14}px`;
      };
      shape.addEventListener("mousemove", show);
      shape.addEventListener("mouseleave", () => { tip.hidden = true; });
      shape.addEventListener("click", () => onSelect(grid));
      shape.addEventListener("keydown", (event) => { if (event.key === "Enter") onSelect(grid); });
      shapes.append(shape);
      const at = labelPoint(grid.boundary, project);
      const label = node("g", { class: "label", "data-grid": grid.grid, "data-y": at.y });
      // Each line with shorter wordings to fall back on where the grid is narrow (fitLabels).
      const lines = [
        ["name", [shortName(grid), shortName(grid).replace(/（.*?）|\(.*?\)/g, "")]],
        ["counts", [`在办 ${grid.open}`, `${grid.open}`]],
      ];
      if (grid.overdue || grid.escalated)
        lines.push(["alarm", [`超期 ${grid.overdue} · 已升级 ${grid.escalated}`, `超${grid.overdue} 升${grid.escalated}`]]);
      const top = at.y - ((lines.length - 1) * 15) / 2 + 4;
      lines.forEach(([kind, wordings], index) => label.append(
        node("text", { x: at.x, y: top + index * 15, class: kind, "data-wordings": JSON.stringify(wordings) }, wordings[0])));
      labels.append(label);
    }
    container.replaceChildren(plot, tip, legend(scale), table(data.grids, onSelect));
    fitLabels(plot);
    if (!drawn.length) container.prepend(Object.assign(document.createElement("p"), { className: "empty", textContent: "暂无网格边界 no grid boundaries" }));
  }

  // Each label line takes its longest wording that fits its grid's width; a line none of whose wordings fits is
  // left out (the tooltip and the table still say it), except the count of open cases, which stays in its
  // shortest form.
  function fitLabels(plot) {
    if (!plot.getBoundingClientRect().width) return;  // not laid out (hidden): every line keeps its full wording
    for (const label of plot.querySelectorAll("g.label")) {
      const shape = plot.querySelector(`path.grid[data-grid="${CSS.escape(label.dataset.grid)}"]`);
      const room = shape.getBBox().width - 6;
      for (const line of label.querySelectorAll("text")) {
        const wordings = JSON.parse(line.dataset.wordings);
        const fits = wordings.find((wording) => {
          line.textContent = wording;
          return line.getComputedTextLength() <= room;
        });
        if (fits !== undefined) line.textContent = fits;
        else if (line.classList.contains("counts")) line.textContent = wordings[wordings.length - 1];
        else line.remove();
      }
      const kept = [...label.querySelectorAll("text")];  // centred again on the grid, whatever lines were left out
      kept.forEach((line, index) => line.setAttribute("y", Number(label.dataset.y) - ((kept.length - 1) * 15) / 2 + 4 + index * 15));
    }
  }

  function legend(scale) {
    const box = document.createElement("div");
    box.className = "map-legend";
    const item = (swatch, text, extra) => {
      const row = document.createElement("span");
      const mark = document.createElement("i");
      mark.style.background = swatch;
      if (extra) mark.className = extra;
      row.append(mark, text);
      return row;
    };
    box.append(Object.assign(document.createElement("strong"), { textContent: "在办 Open" }));
    box.append(item(NONE, "0"));
    for (const range of scale) box.append(item(range.shade, range.low === range.high ? `${range.low}` : `${range.low}–${range.high}`));
    box.append(item("transparent", "有超期 overdue", "late"));
    return box;
  }

  function table(grids, onSelect) {
    const made = document.createElement("table");
    made.className = "map-table";
    made.innerHTML = "<thead><tr><th>网格 Grid</th><th>在办 Open</th><th>超期 Overdue</th><th>已升级 Escalated</th></tr></thead>";
    const body = document.createElement("tbody");
    const ranked = [...grids].sort((a, b) => b.open - a.open || b.overdue - a.overdue || a.grid.localeCompare(b.grid));
    for (const grid of ranked) {
      const row = document.createElement("tr");
      row.dataset.grid = grid.grid;
      const name = document.createElement("a");
      name.className = "grid-link";
      name.textContent = grid.boundary ? grid.name : `${grid.name}（未绘边界）`;
      name.addEventListener("click", () => onSelect(grid));
      const cells = [name, grid.open, grid.overdue, grid.escalated].map((value) => {
        const cell = document.createElement("td");
        cell.append(value instanceof Node ? value : String(value));
        return cell;
      });
      if (grid.overdue) cells[2].className = "late";
      row.append(...cells);
      body.append(row);
    }
    made.append(body);
    return made;
  }

  // Marks `code` as the chosen grid on the map and in its table (null: none).
  function select(container, code) {
    for (const shape of container.querySelectorAll("path.grid")) shape.classList.toggle("selected", shape.dataset.grid === code);
    for (const row of container.querySelectorAll(".map-table tbody tr")) row.classList.toggle("selected", row.dataset.grid === code);
    const chosen = container.querySelector("path.grid.selected");
    if (chosen) chosen.parentNode.append(chosen);  // drawn last, so its outline is not covered by a neighbour's
  }

  return { draw, select, projection, classes };
})();
