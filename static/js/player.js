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

  const { Queue, ListenReporter, MediaControls } = window.SkyBeat;
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
    queueToggle: byId("player-queue-toggle"),
    queueSize: byId("player-queue-size"),
    panel: byId("queue-panel"),
    list: byId("queue-list"),
    count: byId("queue-count"),
    clear: byId("queue-clear"),
    close: byId("queue-close"),
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

  function toggle() {
    if (queue.current() && queue.current().key === loadedKey && !audio.paused) audio.pause();
    else play();
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

  function iconButton(icon, label, data) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "icon-btn";
    button.setAttribute("aria-label", label);
    Object.assign(button.dataset, data);
    button.innerHTML = `<svg class="icon" aria-hidden="true"><use href="#i-${icon}"></use></svg>`;
    return button;
  }

  function queueRow(item, index) {
    const li = document.createElement("li");
    li.className = "queue-item";
    li.dataset.key = item.key;
    const current = index === queue.index;
    li.classList.toggle("is-current", current);
    const main = document.createElement("button");
    main.type = "button";
    main.className = "queue-play";
    main.dataset.action = "jump";
    if (current) main.setAttribute("aria-current", "true");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = item.colour || "var(--muted)";
    const text = document.createElement("span");
    text.className = "queue-text";
    const title = document.createElement("span");
    title.className = "queue-title";
    title.textContent = item.title;
    const artist = document.createElement("span");
    artist.className = "queue-artist";
    artist.textContent = item.artist || "Unknown artist";
    text.append(title, artist);
    main.append(swatch, text);
    main.setAttribute("aria-label", `${current ? "Now playing" : "Play"}: ${item.title}${item.artist ? `, ${item.artist}` : ""}`);
    li.append(
      main,
      iconButton("up", `Move ${item.title} up`, { action: "up" }),
      iconButton("down", `Move ${item.title} down`, { action: "down" }),
      iconButton("close", `Remove ${item.title} from the queue`, { action: "remove" }),
    );
    return li;
  }

  function renderQueue(focus) {
    ui.list.replaceChildren(...queue.items.map(queueRow));
    const size = queue.items.length;
    ui.count.textContent = `${size} song${size === 1 ? "" : "s"}`;
    ui.queueSize.textContent = size ? String(size) : "";
    if (focus) {
      const row = ui.list.querySelector(`[data-key="${CSS.escape(focus.key)}"]`);
      const target = row && row.querySelector(`[data-action="${focus.action}"]`);
      (target || ui.list.querySelector(".queue-play") || ui.queueToggle).focus();
    }
  }

  function render(focus) {
    const item = queue.current();
    const visible = Boolean(item);
    ui.player.hidden = !visible;
    document.body.classList.toggle("has-player", visible);
    if (!visible && !ui.panel.hidden) openPanel(false);
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
    renderQueue(focus);
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

  function openPanel(open) {
    ui.panel.hidden = !open;
    ui.player.classList.toggle("is-open", open);
    ui.queueToggle.setAttribute("aria-expanded", String(open));
    if (open) (ui.list.querySelector(".is-current .queue-play") || ui.close).focus();
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
  ui.queueToggle.addEventListener("click", () => openPanel(ui.panel.hidden));
  ui.close.addEventListener("click", () => {
    openPanel(false);
    ui.queueToggle.focus();
  });
  ui.panel.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    openPanel(false);
    ui.queueToggle.focus();
  });
  ui.clear.addEventListener("click", () => {
    queue.clear();
    unload();
    say("Queue cleared.");
    render();
    save();
    byId("main").focus();
  });
  ui.list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (!button) return;
    const key = button.closest(".queue-item").dataset.key;
    const action = button.dataset.action;
    if (action === "jump") {
      if (key === loadedKey) toggle();
      else go(queue.jump(key));
      return;
    }
    if (action === "remove") {
      const wasCurrent = queue.remove(key);
      if (wasCurrent && queue.current()) load(queue.current(), { autoplay: !audio.paused });
      else if (wasCurrent) unload();
      const next = queue.items[Math.min(queue.index + 1, queue.items.length - 1)];
      render(next ? { key: next.key, action: "remove" } : null);
    } else {
      queue.move(key, action === "up" ? -1 : 1);
      render({ key, action });
    }
    save();
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
    if (failures < queue.items.length) next();
  });
  audio.addEventListener("timeupdate", () => {
    renderTime();
    media.position();
    if (Date.now() - lastSave > SAVE_EVERY_MS) save();
  });
  audio.addEventListener("durationchange", renderTime);
  window.addEventListener("pagehide", save);

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
