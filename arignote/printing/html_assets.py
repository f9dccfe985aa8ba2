"""The style sheet and script of the HTML graph view, inlined into every page it writes.

The script lays the graph out itself (no library, no network): a layered
drawing in the manner of Sugiyama. Nodes get ranks by longest path from the
inputs (an input sits just above its first reader); an arrow spanning
several ranks passes through invisible waypoints; a few sweeps order each
rank by the mean position of its neighbours (fewer crossings); x positions
are relaxed toward the neighbours' mean while keeping boxes apart (the mean
of a left-packed and a right-packed placement). An expanded inner graph is
laid out the same way and drawn inside its op's box, which grows to hold
it; folding or unfolding lays everything out again.

The page marks ``<body data-rendered-nodes="N">`` once drawn, and every box
is a ``<g class="node">`` with ``data-id``; the browser test reads these.
"""

STYLE = """
html, body { margin: 0; height: 100%; font-family: Helvetica, Arial, sans-serif; }
body { display: flex; flex-direction: column; }
#toolbar { display: flex; gap: 6px; align-items: center; padding: 6px 10px;
  border-bottom: 1px solid #ccc; background: #f7f7f7; flex-wrap: wrap; }
#toolbar h1 { font-size: 15px; margin: 0 12px 0 0; font-weight: 600; }
#toolbar button { font-size: 12px; padding: 2px 8px; cursor: pointer; }
#legend { display: flex; gap: 8px; font-size: 11px; margin-left: 12px; flex-wrap: wrap; }
#legend span { display: inline-flex; align-items: center; gap: 3px; }
#legend i { display: inline-block; width: 12px; height: 12px; border: 1px solid #555; }
#canvas { flex: 1; width: 100%; cursor: grab; background: #fff; }
#canvas.panning { cursor: grabbing; }
.node text { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px;
  pointer-events: none; }
.node rect { stroke: #333; stroke-width: 1; }
.node.has-inner > rect { cursor: pointer; stroke-width: 2; }
.node.expanded > rect { fill-opacity: 0.25; stroke-dasharray: 5 3; }
.node:hover > rect { stroke: #d33; stroke-width: 2; }
.edge path { fill: none; stroke: #555; stroke-width: 1.2; }
.edge:hover path { stroke: #d33; stroke-width: 2; }
.edge text { font-size: 10px; fill: #666; font-family: Helvetica, Arial, sans-serif; }
#canvas.no-shapes .edge text { display: none; }
#tooltip { position: fixed; display: none; background: #fffff0; border: 1px solid #888;
  padding: 6px 8px; font-size: 12px; max-width: 640px; pointer-events: none;
  box-shadow: 2px 2px 6px rgba(0,0,0,0.2); z-index: 10; }
#tooltip pre { margin: 4px 0 0 0; font-size: 11px; white-space: pre-wrap; }
"""

SCRIPT = r"""
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("graph-data").textContent);
  const colours = data.colours;
  const SVG = "http://www.w3.org/2000/svg";
  const svg = document.getElementById("canvas");
  const viewport = document.getElementById("viewport");
  const tooltip = document.getElementById("tooltip");
  const CHAR = 7.3, LINE = 15, PAD_X = 10, PAD_Y = 6, RANK_GAP = 48, NODE_GAP = 20;
  const CLUSTER_PAD = 14, HEADER = 24, SWEEPS = 8;
  const expanded = new Set();
  const view = { scale: 1, x: 20, y: 20 };
  let current = null;

  // Math.max(...list) would overflow the stack on very large graphs.
  const largest = (values, start) => values.reduce((a, b) => (b > a ? b : a), start);
  const smallest = (values, start) => values.reduce((a, b) => (b < a ? b : a), start);

  function el(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    for (const key in attributes) element.setAttribute(key, attributes[key]);
    if (parent) parent.appendChild(element);
    return element;
  }

  function innerIds(graph, found) {
    for (const node of graph.nodes) {
      if (node.inner) { found.push(node.id); innerIds(node.inner, found); }
    }
    return found;
  }

  function lines(node) {
    let label = node.label;
    if (node.inner) label = (expanded.has(node.id) ? "\u2296 " : "\u2295 ") + label;
    return node.caption ? [label, node.caption] : [label];
  }

  // ---- layout --------------------------------------------------------------------------
  function layout(graph) {
    const items = new Map();
    for (const node of graph.nodes) {
      const text = lines(node);
      let w = Math.max(40, largest(text.map((t) => t.length), 0) * CHAR + 2 * PAD_X);
      let h = text.length * LINE + 2 * PAD_Y;
      let sub = null;
      if (node.inner && expanded.has(node.id)) {
        sub = layout(node.inner);
        w = Math.max(w, sub.width + 2 * CLUSTER_PAD);
        h = HEADER + sub.height + CLUSTER_PAD;
      }
      items.set(node.id, { id: node.id, node, w, h, sub, preds: [], succs: [], rank: 0 });
    }
    for (const edge of graph.edges) {
      items.get(edge.source).succs.push(edge.target);
      items.get(edge.target).preds.push(edge.source);
    }
    // Ranks: longest path from the sources, in topological order.
    const indegree = new Map();
    for (const item of items.values()) indegree.set(item.id, item.preds.length);
    const ready = [...items.values()].filter((item) => item.preds.length === 0);
    for (let i = 0; i < ready.length; i++) {
      const item = ready[i];
      for (const next of item.succs) {
        const target = items.get(next);
        target.rank = Math.max(target.rank, item.rank + 1);
        indegree.set(next, indegree.get(next) - 1);
        if (indegree.get(next) === 0) ready.push(target);
      }
    }
    // An input or constant sits just above its first reader.
    for (const item of items.values()) {
      if (item.preds.length === 0 && item.succs.length > 0) {
        item.rank = smallest(item.succs.map((id) => items.get(id).rank), Infinity) - 1;
      }
    }
    const minRank = smallest([...items.values()].map((item) => item.rank), 0);
    for (const item of items.values()) item.rank -= minRank;
    // Waypoints for arrows that span several ranks.
    const routes = [];
    const all = [...items.values()];
    for (const edge of graph.edges) {
      const source = items.get(edge.source), target = items.get(edge.target);
      const route = [source];
      for (let rank = source.rank + 1; rank < target.rank; rank++) {
        const waypoint = { id: null, w: 8, h: 0, rank, preds: [], succs: [], dummy: true };
        all.push(waypoint);
        route.push(waypoint);
      }
      route.push(target);
      for (let i = 0; i + 1 < route.length; i++) {
        route[i].next = route[i].next || [];
        route[i].next.push(route[i + 1]);
        route[i + 1].prev = route[i + 1].prev || [];
        route[i + 1].prev.push(route[i]);
      }
      routes.push({ edge, route });
    }
    const ranks = [];
    for (const item of all) {
      (ranks[item.rank] = ranks[item.rank] || []).push(item);
      item.prev = item.prev || [];
      item.next = item.next || [];
    }
    for (let r = 0; r < ranks.length; r++) ranks[r] = ranks[r] || [];
    const number = (rank) => rank.forEach((item, i) => { item.order = i; });
    ranks.forEach(number);
    // Order each rank by the mean order of its neighbours, sweeping down then up.
    const mean = (values, fallback) =>
      values.length ? values.reduce((a, b) => a + b, 0) / values.length : fallback;
    for (let sweep = 0; sweep < SWEEPS; sweep++) {
      const down = sweep % 2 === 0;
      const sequence = down ? ranks.map((_, r) => r).slice(1) : ranks.map((_, r) => r).reverse().slice(1);
      for (const r of sequence) {
        const rank = ranks[r];
        for (const item of rank) {
          item.key = mean((down ? item.prev : item.next).map((n) => n.order), item.order);
        }
        rank.sort((a, b) => a.key - b.key || a.order - b.order);
        number(rank);
      }
    }
    // y: ranks stacked; x: pull toward neighbours, keeping boxes apart.
    let y = 0;
    for (const rank of ranks) {
      const height = largest(rank.map((item) => item.h), 0);
      for (const item of rank) item.y = y + (height - item.h) / 2;
      y += height + RANK_GAP;
    }
    const height = Math.max(0, y - RANK_GAP);
    const gap = (a, b) => (a.w + b.w) / 2 + (a.dummy && b.dummy ? 4 : NODE_GAP);
    for (const rank of ranks) {
      let x = 0;
      rank.forEach((item, i) => { x += i === 0 ? item.w / 2 : gap(rank[i - 1], item); item.x = x; });
    }
    for (let sweep = 0; sweep < 2 * SWEEPS; sweep++) {
      const down = sweep % 2 === 0;
      const sequence = down ? ranks : [...ranks].reverse();
      for (const rank of sequence) {
        const wanted = rank.map((item) => mean((down ? item.prev : item.next).map((n) => n.x), item.x));
        const left = wanted.slice(), right = wanted.slice();
        for (let i = 1; i < rank.length; i++) {
          left[i] = Math.max(left[i], left[i - 1] + gap(rank[i - 1], rank[i]));
        }
        for (let i = rank.length - 2; i >= 0; i--) {
          right[i] = Math.min(right[i], right[i + 1] - gap(rank[i], rank[i + 1]));
        }
        rank.forEach((item, i) => { item.x = (left[i] + right[i]) / 2; });
      }
    }
    const minX = smallest(all.map((item) => item.x - item.w / 2), all.length ? Infinity : 0);
    const maxX = largest(all.map((item) => item.x + item.w / 2), all.length ? -Infinity : 0);
    for (const item of all) item.x -= minX;
    // Arrows: from the bottom of the source, through the waypoints, to the target's input port.
    const edges = routes.map(({ edge, route }) => {
      const target = route[route.length - 1];
      const ports = target.preds.length;
      const port = target.w * (edge.position + 1) / (ports + 1) - target.w / 2;
      const points = route.map((item, i) => {
        if (i === 0) return [item.x, item.y + item.h];
        if (i === route.length - 1) return [item.x + (ports > 1 ? port : 0), item.y];
        return [item.x, item.y];
      });
      return { edge, points };
    });
    const boxes = all.filter((item) => !item.dummy);
    return { width: maxX - minX, height, boxes, edges };
  }

  // ---- drawing -------------------------------------------------------------------------
  function draw(lay, parent) {
    let count = 0;
    for (const { edge, points } of lay.edges) {
      const group = el("g", { class: "edge" }, parent);
      let d = `M${points[0][0]},${points[0][1]}`;
      for (let i = 1; i < points.length; i++) {
        const [x0, y0] = points[i - 1], [x1, y1] = points[i];
        const middle = (y0 + y1) / 2;
        d += ` C${x0},${middle} ${x1},${middle} ${x1},${y1}`;
      }
      el("path", { d, "marker-end": "url(#arrow)" }, group);
      // Under the source: the arrows of one value share one label instead of crowding a target.
      const label = el("text", { x: points[0][0] + 4, y: points[0][1] + 12 }, group);
      label.textContent = edge.label;
      el("title", {}, group).textContent = edge.label;
    }
    for (const item of lay.boxes) {
      const node = item.node;
      const classes = ["node", "role-" + node.role, "kind-" + node.kind];
      if (node.inner) classes.push("has-inner");
      if (item.sub) classes.push("expanded");
      const group = el("g", {
        class: classes.join(" "), "data-id": node.id, "data-kind": node.kind,
        transform: `translate(${item.x - item.w / 2},${item.y})`,
      }, parent);
      el("rect", {
        width: item.w, height: item.h, rx: node.role === "apply" ? 12 : 2,
        fill: colours[node.kind] || "#eee",
      }, group);
      const text = lines(node);
      text.forEach((t, i) => {
        const label = el("text", {
          x: item.sub ? PAD_X : item.w / 2, y: PAD_Y + LINE * i + 12,
          "text-anchor": item.sub ? "start" : "middle",
        }, group);
        label.textContent = t;
      });
      el("title", {}, group).textContent = node.details.join("\n");
      group.addEventListener("mouseenter", (event) => showTooltip(node, event));
      group.addEventListener("mousemove", moveTooltip);
      group.addEventListener("mouseleave", hideTooltip);
      if (node.inner) {
        group.addEventListener("click", (event) => {
          // Only the op's own box toggles: a click inside an unfolded graph is for that graph.
          if (dragged || event.target.parentNode !== group) return;
          if (expanded.has(node.id)) expanded.delete(node.id); else expanded.add(node.id);
          render(false);
        });
      }
      count += 1;
      if (item.sub) {
        const inner = el("g", { transform: `translate(${CLUSTER_PAD},${HEADER})` }, group);
        count += draw(item.sub, inner);
      }
    }
    return count;
  }

  function render(fit) {
    hideTooltip();
    while (viewport.firstChild) viewport.removeChild(viewport.firstChild);
    current = layout(data.graph);
    const count = draw(current, viewport);
    if (fit) fitView();
    document.body.setAttribute("data-rendered-nodes", String(count));
  }

  // ---- hover ---------------------------------------------------------------------------
  function showTooltip(node, event) {
    tooltip.textContent = "";
    const title = document.createElement("b");
    title.textContent = node.label;
    tooltip.appendChild(title);
    const body = document.createElement("pre");
    body.textContent = node.details.join("\n");
    tooltip.appendChild(body);
    tooltip.style.display = "block";
    moveTooltip(event);
  }
  function moveTooltip(event) {
    tooltip.style.left = event.clientX + 14 + "px";
    tooltip.style.top = event.clientY + 14 + "px";
  }
  function hideTooltip() { tooltip.style.display = "none"; }

  // ---- zoom and pan --------------------------------------------------------------------
  function apply() {
    viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.scale})`);
  }
  function zoom(factor, cx, cy) {
    const scale = Math.min(8, Math.max(0.05, view.scale * factor));
    factor = scale / view.scale;
    view.x = cx - (cx - view.x) * factor;
    view.y = cy - (cy - view.y) * factor;
    view.scale = scale;
    apply();
  }
  function fitView() {
    const width = svg.clientWidth || 800, height = svg.clientHeight || 600;
    const scale = Math.min(2, (width - 40) / Math.max(current.width, 1),
                           (height - 40) / Math.max(current.height, 1));
    view.scale = Math.max(0.05, scale);
    view.x = (width - current.width * view.scale) / 2;
    view.y = 20;
    apply();
  }
  let drag = null, dragged = false;
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = svg.getBoundingClientRect();
    zoom(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  svg.addEventListener("mousedown", (event) => {
    drag = { x: event.clientX, y: event.clientY, vx: view.x, vy: view.y };
    dragged = false;
    svg.classList.add("panning");
  });
  window.addEventListener("mousemove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) dragged = true;
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    apply();
  });
  window.addEventListener("mouseup", () => { drag = null; svg.classList.remove("panning"); });

  const centre = () => [svg.clientWidth / 2, svg.clientHeight / 2];
  const buttons = {
    "zoom-in": () => zoom(1.25, ...centre()),
    "zoom-out": () => zoom(0.8, ...centre()),
    "fit": () => fitView(),
    "expand-all": () => { innerIds(data.graph, []).forEach((id) => expanded.add(id)); render(true); },
    "collapse-all": () => { expanded.clear(); render(true); },
    "shapes": () => svg.classList.toggle("no-shapes"),
  };
  for (const id in buttons) document.getElementById(id).addEventListener("click", buttons[id]);

  if (window.location.hash === "#expanded") innerIds(data.graph, []).forEach((id) => expanded.add(id));
  render(true);
})();
"""
