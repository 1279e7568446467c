/* SKYBEAT player: the bar at the bottom of every page (outside #app, so page swaps never stop it) and its queue.
 *
 * Pages declare what can be played, no script of their own needed:
 *  - [data-play] buttons carry a song (data-song, -src, -title, -artist, -album, -url, -duration, -genre,
 *    -colour): a click plays it now (or pauses it when it is the song playing);
 *  - [data-play-all] plays every [data-play] inside the page's [data-song-list] elements, replacing the queue;
 *  - [data-queue="next"|"add"] inside a [data-song-row] queues that row's song next or last.
 * The queue, its position and the listen in progress are saved per user in localStorage, so a reload resumes.
 */
(function () {
  "use strict";

  const { Queue, ListenReporter, MediaControls, QueuePanel } = window.SkyBeat;
  const SAVE_EVERY_MS = 2000;
  const RESTART_AFTER_S = 3; // "previous" restarts a song that has played longer than this
  const RESUME_LISTEN_MS = 30 * 60 * 1000; // a reload within this goes on with the same listening event

  const byId = (id) => document.getElementById(id);
  const ui = {
    player: byId("player"),
    audio: byId("player-audio"),
    art: byId("player-art"),
    title: byId("player-title"),
    artist: byId("player-artist"),
    toggle: byId("player-toggle"),
    prev: byId("player-prev"),
    next: byId("player-next"),
    shuffle: byId("player-shuffle"),
    repeat: byId("player-repeat"),
    seek: byId("player-seek"),
    time: byId("player-time"),
    duration: byId("player-duration"),
    now: byId("player-now"),
    status: byId("player-status"),
  };
  if (!ui.player) return;
  const audio = ui.audio;

  let user = window.SkyBeat.user();
  let queue = new Queue();
  let loadedKey = null; // the queue entry the audio element holds
  let pendingSeek = null;
  let announced = true;
  let wanted = false; // whether the listener asked for sound (a restored queue waits for a click)
  let failures = 0;
  let dragging = false;
  let lastSave = 0;
  const reporter = new ListenReporter(audio, () => window.SkyBeat.listenUrl());
  const media = new MediaControls(audio, {
    play: () => play(),
    pause: () => audio.pause(),
    previous: () => previous(),
    next: () => next(),
  });
  const panel = new QueuePanel(ui.player, {
    jump: (key) => (key === loadedKey ? toggle() : go(queue.jump(key))),
    up: (key) => reorder(key, -1, "up"),
    down: (key) => reorder(key, 1, "down"),
    remove(key) {
      const at = queue.items.findIndex((item) => item.key === key);
      const wasPlaying = !audio.paused;
      if (queue.remove(key)) {
        if (queue.current()) load(queue.current(), { autoplay: wasPlaying });
        else unload();
      }
      const successor = queue.items[Math.min(at, queue.items.length - 1)];
      render(successor ? { key: successor.key, action: "remove" } : null);
      if (!successor) byId("main").focus(); // the player is gone with the last song
      save();
    },
    clear() {
      queue.clear();
      unload();
      say("Queue cleared.");
      render();
      save();
      byId("main").focus();
    },
  });

  function formatTime(seconds) {
    const s = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function songOf(button) {
    const d = button.dataset;
    return {
      id: d.song, src: d.src, title: d.title, artist: d.artist || "", album: d.album || "", url: d.url || "",
      duration: Number(d.duration) || 0, genre: d.genre || "", colour: d.colour || "",
    };
  }

  function say(text) {
    ui.status.textContent = text;
  }

  // --- Saving and resuming ---------------------------------------------------------------------------------

  function storageKey() {
    return `skybeat.player.${user || "anonymous"}`;
  }

  function save() {
    lastSave = Date.now();
    const state = { queue: queue.toJSON(), time: audio.currentTime || 0, listen: reporter.snapshot(), savedAt: lastSave };
    try {
      localStorage.setItem(storageKey(), JSON.stringify(state));
    } catch (error) {
      // storage full or refused (private mode): the queue lives as long as the page
    }
  }

  function restore() {
    let state = null;
    try {
      state = JSON.parse(localStorage.getItem(storageKey()));
    } catch (error) {
      state = null;
    }
    queue = Queue.fromJSON(state && state.queue);
    const item = queue.current();
    if (item) {
      const fresh = state.savedAt && Date.now() - state.savedAt < RESUME_LISTEN_MS;
      load(item, { autoplay: false, time: Number(state.time) || 0, listen: fresh ? state.listen : null });
    }
    render();
  }

  // --- Playing -----------------------------------------------------------------------------------------------

  function load(item, { autoplay = true, time = 0, listen = null } = {}) {
    loadedKey = item.key;
    reporter.track(item.id, listen);
    pendingSeek = time > 0 ? time : null;
    announced = false;
    wanted = autoplay;
    audio.preload = autoplay ? "auto" : "metadata";
    audio.src = item.src;
    media.show(item);
    if (autoplay) play();
  }

  function unload() {
    reporter.track(null);
    loadedKey = null;
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
    media.clear();
  }

  function play() {
    const item = queue.current();
    if (!item) return;
    if (item.key !== loadedKey) load(item, { autoplay: false });
    wanted = true;
    audio.play().catch(() => {}); // refused autoplay: the play button is there
  }

  function go(item) {
    if (item) load(item);
    render();
    save();
  }

  function next(ended = false) {
    const before = loadedKey;
    const item = queue.next(ended);
    if (!item) {
      render();
      return;
    }
    if (item.key === before) {
      audio.currentTime = 0; // repeat one: the same song again, a new listen
      play();
      render();
    } else go(item);
  }

  function previous() {
    if (audio.currentTime > RESTART_AFTER_S || (queue.index === 0 && queue.repeat !== "all")) {
      audio.currentTime = 0;
      return;
    }
    go(queue.previous());
  }

  function reorder(key, by, action) {
    queue.move(key, by);
    render({ key, action });
    save();
  }

  function toggle() {
    if (queue.current() && queue.current().key === loadedKey && !audio.paused) {
      wanted = false;
      audio.pause();
    } else play();
  }

  // --- Drawing -----------------------------------------------------------------------------------------------

  function isPlaying(songId) {
    const item = queue.current();
    return Boolean(item && item.key === loadedKey && !audio.paused && item.id === songId);
  }

  /** Only the song playing shows "pause": every play button on the page follows the player. */
  function paintButtons() {
    const item = queue.current();
    document.querySelectorAll("#app [data-play]").forEach((button) => {
      const playing = isPlaying(button.dataset.song);
      button.classList.toggle("is-playing", playing);
      button.setAttribute("aria-label", `${playing ? "Pause" : "Play"} ${button.dataset.title}`);
      const row = button.closest("[data-song-row]");
      if (row) row.classList.toggle("is-current", Boolean(item && item.id === button.dataset.song));
    });
  }

  function render(focus) {
    const item = queue.current();
    const visible = Boolean(item);
    ui.player.hidden = !visible;
    document.body.classList.toggle("has-player", visible);
    if (item) {
      ui.title.textContent = item.title;
      ui.title.href = item.url || "#";
      ui.artist.textContent = item.artist || "Unknown artist";
      ui.art.style.backgroundColor = item.colour || "";
    }
    const playing = Boolean(item && item.key === loadedKey && !audio.paused);
    ui.toggle.classList.toggle("is-playing", playing);
    ui.toggle.setAttribute("aria-label", playing ? "Pause" : "Play");
    ui.shuffle.setAttribute("aria-pressed", String(queue.shuffle));
    ui.repeat.dataset.repeat = queue.repeat;
    ui.repeat.setAttribute("aria-label", `Repeat: ${queue.repeat}`);
    panel.render(queue, focus);
    paintButtons();
  }

  function renderTime() {
    const duration = Number.isFinite(audio.duration) ? audio.duration : (queue.current() || {}).duration || 0;
    ui.seek.max = String(duration || 0);
    if (!dragging) ui.seek.value = String(audio.currentTime || 0);
    ui.time.textContent = formatTime(audio.currentTime);
    ui.duration.textContent = formatTime(duration);
    ui.seek.setAttribute("aria-valuetext", `${formatTime(audio.currentTime)} of ${formatTime(duration)}`);
  }

  // --- Page actions (delegated: they work on every page swapped in) -----------------------------------------

  function songsOfPage() {
    const seen = new Set();
    return Array.from(document.querySelectorAll("#app [data-song-list] [data-play]"))
      .map(songOf)
      .filter((song) => !seen.has(song.id) && seen.add(song.id));
  }

  document.addEventListener("click", (event) => {
    const playButton = event.target.closest("[data-play]");
    if (playButton) {
      const song = songOf(playButton);
      const item = queue.current();
      if (item && item.id === song.id && item.key === loadedKey) toggle();
      else go(queue.playNow(song));
      return;
    }
    if (event.target.closest("[data-play-all]")) {
      const songs = songsOfPage();
      if (songs.length) go(queue.replace(songs));
      say(`Playing ${songs.length} song${songs.length === 1 ? "" : "s"}.`);
      return;
    }
    const queueButton = event.target.closest("[data-queue]");
    if (queueButton) {
      const row = queueButton.closest("[data-song-row]");
      const source = row && row.querySelector("[data-play]");
      if (!source) return;
      const song = songOf(source);
      const wasEmpty = !queue.current();
      if (queueButton.dataset.queue === "next") queue.insertNext(song);
      else queue.append(song);
      if (wasEmpty) load(queue.current(), { autoplay: false });
      say(queueButton.dataset.queue === "next" ? `${song.title} plays next.` : `${song.title} added to the queue.`);
      const menu = queueButton.closest("details");
      if (menu) menu.open = false;
      render();
      save();
      return;
    }
    document.querySelectorAll("details.song-menu[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("keydown", (event) => {
    const menu = event.key === "Escape" && event.target.closest && event.target.closest("details.song-menu[open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });

  // A row menu near the bottom of the screen opens upwards, above the player.
  document.addEventListener("toggle", (event) => {
    const menu = event.target;
    if (!menu.matches || !menu.matches("details.song-menu") || !menu.open) return;
    menu.classList.remove("opens-up");
    const items = menu.querySelector(".song-menu-items");
    const bar = ui.player.hidden ? 0 : ui.player.querySelector(".player-bar").offsetHeight;
    if (items.getBoundingClientRect().bottom > window.innerHeight - bar) menu.classList.add("opens-up");
  }, true);

  // --- The player's own controls -----------------------------------------------------------------------------

  ui.toggle.addEventListener("click", toggle);
  ui.next.addEventListener("click", () => next());
  ui.prev.addEventListener("click", previous);
  ui.shuffle.addEventListener("click", () => {
    queue.setShuffle(!queue.shuffle);
    say(queue.shuffle ? "Shuffle on: the songs after this one are mixed." : "Shuffle off.");
    render();
    save();
  });
  ui.repeat.addEventListener("click", () => {
    say({ off: "Repeat off.", all: "Repeating the queue.", one: "Repeating this song." }[queue.cycleRepeat()]);
    render();
    save();
  });
  ui.seek.addEventListener("pointerdown", () => (dragging = true));
  ui.seek.addEventListener("change", () => (dragging = false));
  ui.seek.addEventListener("input", () => {
    if (Number.isFinite(audio.duration)) audio.currentTime = Number(ui.seek.value);
    else pendingSeek = Number(ui.seek.value);
    renderTime();
  });

  // --- The audio element -------------------------------------------------------------------------------------

  audio.addEventListener("loadedmetadata", () => {
    if (pendingSeek !== null) audio.currentTime = Math.min(pendingSeek, audio.duration || pendingSeek);
    pendingSeek = null;
    renderTime();
  });
  audio.addEventListener("playing", () => {
    failures = 0;
    const item = queue.current();
    if (!announced && item) {
      ui.now.textContent = `Now playing: ${item.title}${item.artist ? ` by ${item.artist}` : ""}`;
      announced = true;
    }
  });
  ["play", "pause"].forEach((name) => audio.addEventListener(name, () => {
    render();
    media.state(!audio.paused);
    save();
  }));
  audio.addEventListener("ended", () => next(true));
  audio.addEventListener("error", () => {
    const item = queue.current();
    if (!item || !audio.getAttribute("src")) return;
    failures += 1;
    say(`Could not play ${item.title}.`);
    if (wanted && failures < queue.items.length) next(); // skip it, unless nobody asked for sound yet
  });
  audio.addEventListener("timeupdate", () => {
    renderTime();
    media.position();
    if (Date.now() - lastSave > SAVE_EVERY_MS) save();
  });
  audio.addEventListener("durationchange", renderTime);
  window.addEventListener("pagehide", save);
  // Report before each page request: a log-out ends the session that the report needs.
  document.addEventListener("htmx:beforeRequest", () => reporter.report());

  // Other users' queues are theirs: when the page says someone else is signed in, switch queues.
  window.SkyBeat.onPage(() => {
    if (window.SkyBeat.user() !== user) {
      save();
      unload();
      user = window.SkyBeat.user();
      restore();
    }
    paintButtons();
  });

  /** What song pages need: which song is loaded, and playing a song from a given second. */
  window.SkyBeat.player = {
    audio,
    loadedSongId: () => (queue.current() && queue.current().key === loadedKey ? queue.current().id : null),
    playFrom(button, seconds) {
      const song = songOf(button);
      if (this.loadedSongId() !== song.id) {
        const item = queue.playNow(song);
        load(item, { autoplay: true, time: seconds });
        render();
        save();
      } else {
        audio.currentTime = seconds;
        play();
      }
    },
  };

  restore();
})();
