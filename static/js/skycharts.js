/* SkyCharts: a small SVG charting library for SKYBEAT (donut, plane, bars, stacked columns). No dependencies. */
(function (global) {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, cls, anchor) {
    var node = el("text", { x: x, y: y, "class": cls || "sc-label", "text-anchor": anchor || "middle" }, parent);
    node.textContent = content;
    return node;
  }

  function tip(node, content) { el("title", {}, node).textContent = content; return node; }

  function svg(container, width, height) {
    container.textContent = "";
    return el("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", "class": "skychart",
      preserveAspectRatio: "xMidYMid meet" }, container);
  }

  function pct(value) { return Math.round(value * 100) + "%"; }

  /* One ring sector from angle a0 to a1 (radians, 0 = top, clockwise). */
  function sector(cx, cy, r, inner, a0, a1) {
    function at(radius, a) { return [cx + radius * Math.sin(a), cy - radius * Math.cos(a)]; }
    var large = a1 - a0 > Math.PI ? 1 : 0;
    var p0 = at(r, a0), p1 = at(r, a1), p2 = at(inner, a1), p3 = at(inner, a0);
    return ["M", p0, "A", r, r, 0, large, 1, p1, "L", p2, "A", inner, inner, 0, large, 0, p3, "Z"].join(" ");
  }

  /* items: [{label, value, colour}]; value shares are normalised. */
  function donut(container, items, options) {
    options = options || {};
    var size = 260, cx = 110, cy = 130, r = 100, inner = 62;
    var root = svg(container, size + 200, size);
    var total = items.reduce(function (sum, item) { return sum + item.value; }, 0);
    if (!total) { text(root, cx, cy, "No data"); return root; }
    var angle = 0;
    items.forEach(function (item) {
      var share = item.value / total, span = share * 2 * Math.PI;
      // A full ring is drawn as two halves: an SVG arc cannot start and end at the same point.
      var parts = span >= 2 * Math.PI - 1e-9 ? [[angle, angle + Math.PI], [angle + Math.PI, angle + span]] : [[angle, angle + span]];
      parts.forEach(function (part) {
        tip(el("path", { d: sector(cx, cy, r, inner, part[0], part[1]), fill: item.colour, "class": "sc-slice" }, root),
          item.label + ": " + pct(share));
      });
      angle += span;
    });
    if (options.centre) text(root, cx, cy + 6, options.centre, "sc-centre");
    var legend = el("g", { "class": "sc-legend", transform: "translate(" + (cx + r + 30) + ",30)" }, root);
    items.slice(0, 10).forEach(function (item, i) {
      el("rect", { x: 0, y: i * 22, width: 12, height: 12, rx: 3, fill: item.colour }, legend);
      text(legend, 20, i * 22 + 11, item.label + " " + pct(item.value / total), "sc-label", "start");
    });
    return root;
  }

  /* The valence–arousal plane. options: {point: {x, y}, trail: [{x, y, label}], anchors: {name: [x, y]},
     colours: {name: colour}, onPick: function (x, y)}. Coordinates in [-1, 1]. */
  function plane(container, options) {
    var size = 320, pad = 30, half = (size - 2 * pad) / 2, c = size / 2, lo = pad + 8, hi = size - pad - 8;
    var root = svg(container, size, size);
    function px(x) { return c + x * half; }
    function py(y) { return c - y * half; }
    el("rect", { x: pad, y: pad, width: 2 * half, height: 2 * half, rx: 10, "class": "sc-plane" }, root);
    el("line", { x1: pad, y1: c, x2: size - pad, y2: c, "class": "sc-axis" }, root);
    el("line", { x1: c, y1: pad, x2: c, y2: size - pad, "class": "sc-axis" }, root);
    // Quadrants in the corners; the arousal axis is named outside the plane, valence along its axis.
    [["tense", lo, lo + 10, "start"], ["excited", hi, lo + 10, "end"], ["sad", lo, hi, "start"], ["calm", hi, hi, "end"]]
      .forEach(function (q) { text(root, q[1], q[2], q[0], "sc-quadrant", q[3]); });
    text(root, c, pad - 10, "energetic ↑", "sc-axis-label");
    text(root, c, size - pad + 18, "↓ low energy", "sc-axis-label");
    text(root, hi, c - 6, "pleasant →", "sc-axis-label", "end");
    text(root, lo, c - 6, "← unpleasant", "sc-axis-label", "start");
    Object.keys(options.anchors || {}).forEach(function (name) {
      var p = options.anchors[name], colour = (options.colours || {})[name] || "#888";
      tip(el("circle", { cx: px(p[0]), cy: py(p[1]), r: 4, fill: colour, "class": "sc-anchor" }, root), name);
      text(root, px(p[0]), py(p[1]) + (p[1] > 0.5 ? 16 : -8), name, "sc-anchor-label");
    });
    var trail = options.trail || [];
    if (trail.length > 1) {
      el("polyline", { points: trail.map(function (t) { return px(t.x) + "," + py(t.y); }).join(" "), "class": "sc-trail" }, root);
    }
    trail.forEach(function (t, i) {
      tip(el("circle", { cx: px(t.x), cy: py(t.y), r: 3, "class": "sc-trail-dot",
        "fill-opacity": (0.3 + 0.7 * (i + 1) / trail.length).toFixed(2) }, root), t.label);
    });
    if (options.point) {
      el("circle", { cx: px(options.point.x), cy: py(options.point.y), r: 11, "class": "sc-point-ring" }, root);
      tip(el("circle", { cx: px(options.point.x), cy: py(options.point.y), r: 6, "class": "sc-point" }, root),
        options.pointLabel || "now");
    }
    if (options.onPick) {
      root.addEventListener("click", function (event) {
        // Screen → SVG coordinates through the current transform (the viewBox may be letterboxed).
        var at = root.createSVGPoint();
        at.x = event.clientX; at.y = event.clientY;
        at = at.matrixTransform(root.getScreenCTM().inverse());
        var x = (at.x - c) / half, y = (c - at.y) / half;
        options.onPick(Math.max(-1, Math.min(1, x)), Math.max(-1, Math.min(1, y)));
      });
    }
    return root;
  }

  /* Horizontal bars. items: [{label, value (0–1), colour}]. */
  function bars(container, items) {
    var row = 30, width = 420, labelW = 110, barW = width - labelW - 60;
    var root = svg(container, width, items.length * row + 10);
    items.forEach(function (item, i) {
      var y = i * row + 8;
      text(root, labelW - 10, y + 14, item.label, "sc-label", "end");
      el("rect", { x: labelW, y: y + 3, width: barW, height: 14, rx: 7, "class": "sc-track" }, root);
      tip(el("rect", { x: labelW, y: y + 3, width: Math.max(0, item.value) * barW, height: 14, rx: 7,
        fill: item.colour, "class": "sc-bar" }, root), item.label + ": " + pct(item.value));
      text(root, labelW + barW + 8, y + 14, pct(item.value), "sc-value", "start");
    });
    return root;
  }

  /* Stacked columns. columns: [{label, parts: {key: share}}]; keys: stacking order; colours: {key: colour}. */
  function stacked(container, columns, keys, colours) {
    var width = 460, height = 240, left = 34, bottom = 28, top = 10;
    var root = svg(container, width, height);
    var plotH = height - bottom - top, step = (width - left - 10) / Math.max(1, columns.length);
    [0, 0.5, 1].forEach(function (v) {
      var y = top + plotH * (1 - v);
      el("line", { x1: left, y1: y, x2: width - 10, y2: y, "class": "sc-grid" }, root);
      text(root, left - 6, y + 4, pct(v), "sc-value", "end");
    });
    columns.forEach(function (column, i) {
      var x = left + i * step + step * 0.15, w = step * 0.7, y = top + plotH;
      var total = keys.reduce(function (sum, key) { return sum + (column.parts[key] || 0); }, 0) || 1;
      keys.forEach(function (key) {
        var h = plotH * (column.parts[key] || 0) / total;
        if (h <= 0) return;
        y -= h;
        tip(el("rect", { x: x, y: y, width: w, height: h, fill: colours[key], "class": "sc-stack" }, root),
          column.label + " · " + key + ": " + pct((column.parts[key] || 0) / total));
      });
      if (columns.length <= 8 || i % 2 === 0) text(root, x + w / 2, height - 10, column.label, "sc-value");
    });
    return root;
  }

  global.SkyCharts = { donut: donut, plane: plane, bars: bars, stacked: stacked };
})(window);
