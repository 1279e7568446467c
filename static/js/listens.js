/* Listening reports: one listening event per song played, honest about the seconds actually heard.
 *
 * When a song starts, POST {song} to the listens API (JSON, X-CSRFToken header) to get an event id; then report
 * the seconds actually played (seeks don't count) with navigator.sendBeacon on pause, at the end, when the page
 * is hidden and every 15 s. A beacon can't set headers, so the CSRF token travels in the form body.
 * The player tells the reporter which song is loaded (track); a new event starts on the first play of each
 * loaded song, and again when a song that ended plays anew (repeat). A snapshot lets a reload go on with the
 * same event instead of counting the song twice.
 */
(function () {
  "use strict";

  const REPORT_EVERY_MS = 15000;
  const MAX_STEP_S = 2; // a larger jump of currentTime between two timeupdates is a seek, not listening

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
    if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  class ListenReporter {
    /** listenUrl() gives the API's URL, or "" for an anonymous visitor (no history to keep). */
    constructor(audio, listenUrl) {
      this.audio = audio;
      this.listenUrl = listenUrl;
      this.reset(null);
      audio.addEventListener("play", () => {
        if (this.songId !== null && this.finished) this.reset(this.songId); // played again: another listen
        if (this.songId !== null && this.eventId === null && !this.attempt) this.start();
        this.lastPosition = audio.currentTime;
      });
      audio.addEventListener("timeupdate", () => {
        const step = audio.currentTime - this.lastPosition;
        if (!audio.paused && !this.finished && step > 0 && step < MAX_STEP_S * Math.max(1, audio.playbackRate)) {
          this.listened += step;
        }
        this.lastPosition = audio.currentTime;
        if (Date.now() - this.lastReport > REPORT_EVERY_MS) this.report();
      });
      audio.addEventListener("seeking", () => (this.lastPosition = audio.currentTime));
      audio.addEventListener("pause", () => this.report());
      audio.addEventListener("ended", () => {
        this.finished = true;
        this.report();
      });
      window.addEventListener("pagehide", () => this.report());
      document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && this.report());
    }

    reset(songId, saved) {
      this.songId = songId;
      this.eventId = saved ? saved.eventId : null;
      this.eventUrl = saved ? saved.url : "";
      this.listened = saved ? saved.listened : 0;
      this.attempt = null;
      this.finished = false;
      this.reported = "";
      this.lastReport = Date.now();
      this.lastPosition = this.audio.currentTime;
    }

    /** The player loaded another song: close the current listen. ``saved`` (a snapshot) goes on with a listen. */
    track(songId, saved) {
      this.report();
      this.reset(songId, saved);
    }

    /** What to keep across a reload, to go on with the same listen. */
    snapshot() {
      if (this.eventId === null || this.finished) return null;
      return { eventId: this.eventId, url: this.eventUrl, listened: this.listened };
    }

    start() {
      const url = this.listenUrl();
      if (!url) return;
      const attempt = {};
      this.attempt = attempt;
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify({ song: Number(this.songId) }),
      })
        .then((response) => (response.ok ? response.json() : null))
        .then((body) => {
          if (this.attempt !== attempt) return; // another song (or another play) since
          this.attempt = null;
          if (!body) return;
          this.eventId = body.id;
          this.eventUrl = url;
          if (this.audio.paused) this.report();
        })
        .catch(() => this.attempt === attempt && (this.attempt = null));
    }

    /** Send the seconds heard so far (and whether the song played to its end), if they changed. */
    report() {
      if (this.eventId === null) return; // not started yet: start() reports once it has an id
      const seconds = Math.round(this.listened * 10) / 10;
      const state = `${seconds}/${this.finished}`;
      if (state === this.reported) return;
      this.reported = state;
      this.lastReport = Date.now();
      const form = new FormData();
      form.append("csrfmiddlewaretoken", csrfToken());
      form.append("seconds_listened", String(seconds));
      form.append("completed", this.finished ? "true" : "false");
      const url = `${this.eventUrl}/${this.eventId}/progress`;
      if (!(navigator.sendBeacon && navigator.sendBeacon(url, form))) {
        fetch(url, { method: "POST", body: form, credentials: "same-origin", keepalive: true }).catch(() => {});
      }
    }
  }

  window.SkyBeat.ListenReporter = ListenReporter;
})();
