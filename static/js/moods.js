/* The mood dashboard and the mood radio: read the page's JSON and draw with SkyCharts. */
(function () {
  "use strict";

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function anchors(data) {
    return { anchors: data.mood_points, colours: data.mood_colours };
  }

  function shortDate(iso) {
    var d = new Date(iso + "T00:00:00");
    return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }

  function percent(share) { return Math.round(share * 100) + "%"; }

  /* What a chart shows, as text for screen readers (the charts are role="img"). */
  function describe(id, text) { document.getElementById(id).setAttribute("aria-label", text); }

  function describeDashboard(data) {
    describe("chart-genres", "Genres you listen to: " +
      data.genres.map(function (g) { return g.name + " " + percent(g.share); }).join(", ") + ".");
    if (data.point) describe("chart-plane", "You are at valence " + data.point.valence.toFixed(2) + " (pleasant is positive)" +
      " and arousal " + data.point.arousal.toFixed(2) + " (energetic is positive).");
    describe("chart-moods", "Share of each mood: " +
      data.moods.map(function (m) { return m.label + " " + percent(m.share); }).join(", ") + ".");
    describe("chart-weeks", "Mood shares per week: " + data.weeks.map(function (w) {
      var top = Object.keys(w.moods).sort(function (a, b) { return w.moods[b] - w.moods[a]; })[0];
      return "week of " + shortDate(w.week) + (top ? ", mostly " + top + " " + percent(w.moods[top]) : "");
    }).join("; ") + ".");
  }

  function drawDashboard(data) {
    describeDashboard(data);
    SkyCharts.donut(document.getElementById("chart-genres"),
      data.genres.map(function (g) { return { label: g.name, value: g.share, colour: g.colour }; }),
      { centre: data.genres.length ? data.genres[0].name : "" });
    var plane = anchors(data);
    plane.trail = data.trail.map(function (t) { return { x: t.valence, y: t.arousal, label: "week of " + shortDate(t.date) }; });
    if (data.point) plane.point = { x: data.point.valence, y: data.point.arousal };
    SkyCharts.plane(document.getElementById("chart-plane"), plane);
    SkyCharts.bars(document.getElementById("chart-moods"),
      data.moods.map(function (m) { return { label: m.label, value: m.share, colour: m.colour }; }));
    var keys = data.moods.map(function (m) { return m.mood; });
    SkyCharts.stacked(document.getElementById("chart-weeks"),
      data.weeks.map(function (w) { return { label: shortDate(w.week), parts: w.moods }; }), keys, data.mood_colours);
  }

  function drawRadio(data) {
    var plane = anchors(data);
    if (data.point) plane.point = { x: data.point[0], y: data.point[1] };
    plane.pointLabel = "your pick";
    plane.trail = [];
    plane.onPick = function (x, y) {
      var url = window.location.pathname + "?mood=" + encodeURIComponent(x.toFixed(2) + "," + y.toFixed(2));
      if (window.SkyBeat) window.SkyBeat.visit(url); else window.location.assign(url);
    };
    SkyCharts.plane(document.getElementById("radio-plane"), plane);
  }

  var dashboard = readJSON("mood-data");
  if (dashboard) drawDashboard(dashboard);
  var radio = readJSON("radio-data");
  if (radio) drawRadio(radio);
})();
