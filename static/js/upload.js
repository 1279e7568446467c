/* SKYBEAT uploads: drag and drop (or choose) many files; each goes up in its own XHR with a real progress bar,
 * then its song's status is polled until it is classified or fails. Without JavaScript the form posts as is. */
(function () {
  "use strict";

  const zone = document.getElementById("dropzone");
  if (!zone) return;
  document.documentElement.classList.add("js");

  const form = document.getElementById("upload-form");
  const input = document.getElementById("file-input");
  const list = document.getElementById("upload-list");
  const apiUrl = zone.dataset.api;
  const statusUrl = zone.dataset.status;
  const maxBytes = Number(zone.dataset.maxBytes);
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const PARALLEL_UPLOADS = 2;
  const POLL_MIN_MS = 1000;
  const POLL_MAX_MS = 10000;
  const STATES = {
    pending: ["queued", "Queued"],
    processing: ["classifying", "Classifying…"],
    classified: ["done", "Done"],
    failed: ["failed", "Failed"],
  };

  const waiting = [];
  const watched = new Map(); // song id -> row
  let running = 0;
  let pollTimer = null;
  let pollDelay = POLL_MIN_MS;

  function megabytes(bytes) {
    return `${(bytes / 1e6).toFixed(1)} MB`;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function addRow(file) {
    const row = element("li", "upload-item");
    const name = element("div", "upload-name", file.name);
    name.append(element("span", "upload-size", megabytes(file.size)));
    const bar = element("div", "progress");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.append(element("span"));
    row.append(name, bar, element("span", "upload-state status"));
    list.append(row);
    setProgress(row, 0);
    return row;
  }

  function setProgress(row, fraction) {
    const percent = Math.round(fraction * 100);
    const bar = row.querySelector(".progress");
    bar.firstChild.style.width = `${percent}%`;
    bar.setAttribute("aria-valuenow", String(percent));
    row.dataset.progress = String(percent);
  }

  function setState(row, state, text) {
    row.dataset.state = state;
    const label = row.querySelector(".upload-state");
    label.textContent = text;
    label.className = `upload-state status status-${state}`;
  }

  function refuse(row, message) {
    setState(row, "error", "Refused");
    row.append(element("div", "upload-error", message));
  }

  function showSong(row, song) {
    const name = row.querySelector(".upload-name");
    const link = element("a", "", song.title);
    link.href = song.url;
    name.firstChild.replaceWith(link);
    row.dataset.song = String(song.id);
  }

  function showStatus(row, song) {
    const [state, text] = STATES[song.status] || ["queued", song.status];
    let label = text;
    if (song.status === "classified" && song.top_genre) {
      const guess = song.genre_uncertain ? "?" : "";  // an unsure genre reads as a guess, as on its page
      label = `Done: ${song.top_genre.name}${guess} ${Math.round((song.top_probability || 0) * 100)} %`;
    }
    setState(row, state, label);
    const old = row.querySelector(".upload-error");
    if (old) old.remove();
    if (song.status === "failed" && song.failure_reason) row.append(element("div", "upload-error", song.failure_reason));
    if (state === "done" || state === "failed") watched.delete(String(song.id));
  }

  function addFiles(files) {
    for (const file of Array.from(files)) {
      const row = addRow(file);
      if (file.size === 0) refuse(row, "The file is empty.");
      else if (file.size > maxBytes) refuse(row, `The file is larger than the ${megabytes(maxBytes)} limit.`);
      else {
        setState(row, "waiting", "Waiting");
        waiting.push({ file, row });
      }
    }
    pump();
  }

  function pump() {
    while (running < PARALLEL_UPLOADS && waiting.length) {
      running += 1;
      upload(waiting.shift()).finally(() => {
        running -= 1;
        pump();
      });
    }
  }

  function upload({ file, row }) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", apiUrl);
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.responseType = "json";
      setState(row, "uploading", "Uploading 0 %");
      xhr.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        setProgress(row, event.loaded / event.total);
        setState(row, "uploading", `Uploading ${Math.round((event.loaded / event.total) * 100)} %`);
      });
      xhr.upload.addEventListener("load", () => {
        setProgress(row, 1);
        setState(row, "verifying", "Checking the audio…");
      });
      xhr.addEventListener("load", () => {
        handleAnswer(row, xhr.status, xhr.response);
        resolve();
      });
      xhr.addEventListener("error", () => {
        refuse(row, "The upload was interrupted (network error). Try again.");
        resolve();
      });
      const data = new FormData();
      data.append("file", file, file.name);
      data.append("visibility", form.elements.visibility.value);
      xhr.send(data);
    });
  }

  function handleAnswer(row, status, body) {
    const outcome = body && body.uploads ? body.uploads[0] : null;
    if (outcome && outcome.song) {
      setProgress(row, 1);
      showSong(row, outcome.song);
      showStatus(row, outcome.song);
      if (!outcome.created) row.append(element("div", "muted small", "Already in the library: linked to the existing song."));
      if (row.dataset.state !== "done" && row.dataset.state !== "failed") watch(outcome.song.id, row);
    } else if (outcome) {
      refuse(row, outcome.error);
    } else {
      refuse(row, (body && body.detail) || `The server answered ${status}.`);
    }
  }

  function watch(songId, row) {
    watched.set(String(songId), row);
    pollDelay = POLL_MIN_MS;
    if (!pollTimer) pollTimer = setTimeout(poll, pollDelay);
  }

  function poll() {
    pollTimer = null;
    if (!watched.size) return;
    const ids = Array.from(watched.keys()).slice(0, 200).join(",");
    fetch(`${statusUrl}?ids=${ids}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : []))
      .then((songs) => songs.forEach((song) => watched.has(String(song.id)) && showStatus(watched.get(String(song.id)), song)))
      .catch(() => {})
      .finally(() => {
        if (!watched.size) return;
        pollDelay = Math.min(POLL_MAX_MS, pollDelay * 1.3);
        pollTimer = setTimeout(poll, pollDelay);
      });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    addFiles(input.files);
    input.value = "";
  });
  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach((name) =>
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("is-over");
    }),
  );
  ["dragleave", "drop"].forEach((name) =>
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.remove("is-over");
    }),
  );
  zone.addEventListener("drop", (event) => addFiles(event.dataTransfer.files));
})();
