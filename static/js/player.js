/* SKYBEAT player: the mini-player of list pages, listening reports, and the song page's timeline and playheads.
 *
 * Listening reports: when a song starts, POST {song} to the listens API (JSON, X-CSRFToken header) to get an
 * event id; then report the seconds actually played (seeks don't count) with navigator.sendBeacon on pause, end,
 * page hide and every 15 s. A beacon can't set headers, so the CSRF token travels in the form body.
 */
(function () {
  "use strict";

  const REPORT_EVERY_MS = 15000;
  const MAX_STEP_S = 2; // a larger jump of currentTime between two timeupdates is a seek, not listening

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function trackListening(audio) {
    const listenUrl = audio.dataset.listenUrl;
    if (!listenUrl) return; // anonymous visitors have no history
    let eventId = null;
    let starting = null;
    let listened = 0;
    let lastPosition = 0;
    let lastReport = 0;
    let reportedSeconds = -1;
    let finished = true;
    let songId = null;

    function start() {
      songId = audio.dataset.song;
      eventId = null;
      listened = 0;
      reportedSeconds = -1;
      lastReport = Date.now();
      finished = false;
      starting = fetch(listenUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify({ song: Number(songId) }),
      })
        .then((response) => (response.ok ? response.json() : null))
        .then((body) => (eventId = body ? body.id : null))
        .catch(() => null);
    }

    function report(completed) {
      if (eventId === null) {
        if (starting) starting.then((id) => id !== null && report(completed));
        return;
      }
      const seconds = Math.round(listened * 10) / 10;
      if (seconds === reportedSeconds && !completed) return;
      reportedSeconds = seconds;
      lastReport = Date.now();
      const form = new FormData();
      form.append("csrfmiddlewaretoken", csrfToken());
      form.append("seconds_listened", String(seconds));
      form.append("completed", completed ? "true" : "false");
      const url = `${listenUrl}/${eventId}/progress`;
      if (!(navigator.sendBeacon && navigator.sendBeacon(url, form))) {
        fetch(url, { method: "POST", body: form, credentials: "same-origin", keepalive: true }).catch(() => {});
      }
    }

    audio.addEventListener("play", () => {
      if (finished || audio.dataset.song !== songId) start();
      lastPosition = audio.currentTime;
    });
    audio.addEventListener("timeupdate", () => {
      const step = audio.currentTime - lastPosition;
      if (!audio.paused && step > 0 && step < MAX_STEP_S * Math.max(1, audio.playbackRate)) listened += step;
      lastPosition = audio.currentTime;
      if (!finished && Date.now() - lastReport > REPORT_EVERY_MS) report(false);
    });
    audio.addEventListener("seeking", () => (lastPosition = audio.currentTime));
    audio.addEventListener("pause", () => !finished && report(false));
    audio.addEventListener("ended", () => {
      report(true);
      finished = true;
    });
    window.addEventListener("pagehide", () => !finished && report(false));
    document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && !finished && report(false));
  }

  function setUpMiniPlayer() {
    const bar = document.getElementById("mini-player");
    if (!bar) return;
    const audio = document.getElementById("mini-player-audio");
    const title = document.getElementById("mini-player-title");
    const artist = document.getElementById("mini-player-artist");
    let current = null;
    trackListening(audio);

    document.addEventListener("click", (event) => {
      const button = event.target.closest("[data-play]");
      if (!button) return;
      if (current === button) {
        audio.paused ? audio.play() : audio.pause();
        return;
      }
      if (!audio.paused) audio.pause(); // reports the previous song before the source changes
      if (current) current.classList.remove("is-playing");
      current = button;
      audio.dataset.song = button.dataset.song;
      audio.src = button.dataset.src;
      title.textContent = button.dataset.title;
      artist.textContent = button.dataset.artist || "Unknown artist";
      bar.hidden = false;
      document.body.classList.add("has-mini-player");
      audio.play().catch(() => {});
    });
    audio.addEventListener("play", () => current && (current.classList.add("is-playing"), (current.textContent = "❚❚")));
    audio.addEventListener("pause", () => current && (current.classList.remove("is-playing"), (current.textContent = "▶")));
  }

  function drawTimeline(canvas, timeline, genres, durationS) {
    const frames = timeline.frames || [];
    const slugs = timeline.genres || [];
    const width = canvas.clientWidth * window.devicePixelRatio;
    const height = canvas.clientHeight * window.devicePixelRatio;
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, width, height);
    const end = durationS || (frames.length ? frames[frames.length - 1][0] + (frames.length > 1 ? frames[1][0] - frames[0][0] : 1) : 1);
    frames.forEach(([startS, scores], index) => {
      const stopS = index + 1 < frames.length ? frames[index + 1][0] : end;
      let best = 0;
      scores.forEach((p, i) => (p > scores[best] ? (best = i) : null));
      const genre = genres[slugs[best]];
      context.globalAlpha = Math.max(0.15, Math.min(1, scores[best] || 0));
      context.fillStyle = genre ? genre.colour : "#8888aa";
      const x = (startS / end) * width;
      context.fillRect(x, 0, Math.max(1, ((stopS - startS) / end) * width + 0.5), height);
    });
    context.globalAlpha = 1;
  }

  function setUpSongPage() {
    const audio = document.getElementById("song-audio");
    if (!audio) return;
    trackListening(audio);
    const knownDuration = () => (isFinite(audio.duration) && audio.duration > 0 ? audio.duration : Number(audio.dataset.duration) || 0);

    const data = document.getElementById("song-timeline");
    const canvas = document.getElementById("timeline-canvas");
    if (data && canvas) {
      const timeline = JSON.parse(data.textContent);
      const genres = JSON.parse(document.getElementById("timeline-genres").textContent);
      const draw = () => drawTimeline(canvas, timeline, genres, knownDuration());
      draw();
      window.addEventListener("resize", draw);
      audio.addEventListener("loadedmetadata", draw);
    }

    const seekables = Array.from(document.querySelectorAll("[data-seek-for='song-audio']"));
    const moveHeads = () => {
      const duration = knownDuration();
      const fraction = duration ? Math.min(1, audio.currentTime / duration) : 0;
      seekables.forEach((element) => (element.querySelector(".playhead").style.left = `${fraction * 100}%`));
    };
    const animate = () => {
      moveHeads();
      if (!audio.paused) requestAnimationFrame(animate);
    };
    audio.addEventListener("play", () => requestAnimationFrame(animate));
    ["timeupdate", "seeked", "loadedmetadata"].forEach((name) => audio.addEventListener(name, moveHeads));
    seekables.forEach((element) =>
      element.addEventListener("click", (event) => {
        const duration = knownDuration();
        if (!duration) return;
        const box = element.getBoundingClientRect();
        audio.currentTime = Math.max(0, Math.min(1, (event.clientX - box.left) / box.width)) * duration;
        moveHeads();
      }),
    );
  }

  setUpMiniPlayer();
  setUpSongPage();
})();
