/* A song's page: its genre timeline, and playheads on the timeline and the spectrogram that follow the player
 * while this song is loaded. A click on either plays the song from that moment. */
(function () {
  "use strict";

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

  window.SkyBeat.onPage((root, signal) => {
    const player = window.SkyBeat.player;
    const seekables = Array.from(root.querySelectorAll("[data-seek]"));
    if (!player || !seekables.length) return;
    const audio = player.audio;
    const songId = seekables[0].dataset.seek;
    const button = root.querySelector(`[data-play][data-song="${songId}"]`);
    const isLoaded = () => player.loadedSongId() === songId;
    const duration = () => (isLoaded() && Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : Number(button.dataset.duration) || 0);

    const data = root.querySelector("#song-timeline");
    const canvas = root.querySelector("#timeline-canvas");
    if (data && canvas) {
      const timeline = JSON.parse(data.textContent);
      const genres = JSON.parse(root.querySelector("#timeline-genres").textContent);
      const draw = () => drawTimeline(canvas, timeline, genres, duration());
      draw();
      window.addEventListener("resize", draw, { signal });
    }

    const moveHeads = () => {
      const fraction = isLoaded() && duration() ? Math.min(1, audio.currentTime / duration()) : 0;
      seekables.forEach((element) => (element.querySelector(".playhead").style.left = `${fraction * 100}%`));
    };
    const animate = () => {
      moveHeads();
      if (!audio.paused && !signal.aborted) requestAnimationFrame(animate);
    };
    audio.addEventListener("play", () => requestAnimationFrame(animate), { signal });
    ["timeupdate", "seeked", "loadedmetadata", "emptied"].forEach((name) => audio.addEventListener(name, moveHeads, { signal }));
    moveHeads();
    seekables.forEach((element) =>
      element.addEventListener("click", (event) => {
        if (!duration()) return;
        const box = element.getBoundingClientRect();
        player.playFrom(button, Math.max(0, Math.min(1, (event.clientX - box.left) / box.width)) * duration());
      }, { signal }),
    );
  });
})();
