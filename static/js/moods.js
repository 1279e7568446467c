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

  function drawDashboard(data) {
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
      window.location.search = "?mood=" + encodeURIComponent(x.toFixed(2) + "," + y.toFixed(2));
    };
    SkyCharts.plane(document.getElementById("radio-plane"), plane);
    var audio = document.getElementById("radio-audio");
    if (!audio || !data.queue.length) return;
    var items = document.querySelectorAll("#radio-queue li"), now = document.getElementById("radio-now"), current = -1;
    function play(index) {
      if (index >= data.queue.length) return;
      current = index;
      var song = data.queue[index];
      items.forEach(function (li, i) { li.classList.toggle("playing", i === index); });
      now.textContent = song.title + (song.artist ? " — " + song.artist : "") + " (" + song.mood + ")";
      audio.src = song.stream;
      audio.play().catch(function () { /* autoplay refused: the controls are there */ });
    }
    audio.addEventListener("ended", function () { play(current + 1); });
    audio.addEventListener("error", function () { if (current >= 0) play(current + 1); });
    items.forEach(function (li, i) { li.querySelector("button").addEventListener("click", function () { play(i); }); });
    now.textContent = "Press ▶ on a song, or play: the queue continues by itself.";
    audio.src = data.queue[0].stream;
    current = 0;
  }

  var dashboard = readJSON("mood-data");
  if (dashboard) drawDashboard(dashboard);
  var radio = readJSON("radio-data");
  if (radio) drawRadio(radio);
})();
