/* The lock screen, the OS media controls and headphone buttons (Media Session API): what plays, with artwork
 * drawn in the genre's colour, and play, pause, previous, next and seeking from there. */
(function () {
  "use strict";

  const SEEK_STEP_S = 10;
  const ART_SIZE = 512;
  const DEFAULT_COLOUR = "#7c5cff";
  const WAVE = "M6 18h3l2-7 3 13 3-16 3 12 2-5h4"; // the logo's wave, on a 32-unit square
  const artworks = new Map();

  /** A square PNG (data URL): the genre colour fading to the night background, with SKYBEAT's wave. */
  function artwork(colour) {
    const key = colour || DEFAULT_COLOUR;
    if (!artworks.has(key)) {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = ART_SIZE;
      const context = canvas.getContext("2d");
      const gradient = context.createLinearGradient(0, 0, ART_SIZE, ART_SIZE);
      gradient.addColorStop(0, key);
      gradient.addColorStop(1, "#0f1016");
      context.fillStyle = gradient;
      context.fillRect(0, 0, ART_SIZE, ART_SIZE);
      context.scale(ART_SIZE / 32, ART_SIZE / 32);
      context.strokeStyle = "#ffffff";
      context.lineWidth = 1.6;
      context.lineCap = context.lineJoin = "round";
      context.stroke(new Path2D(WAVE));
      artworks.set(key, canvas.toDataURL("image/png"));
    }
    return artworks.get(key);
  }

  class MediaControls {
    /** actions: {play, pause, previous, next}, called by the OS controls. */
    constructor(audio, actions) {
      this.audio = audio;
      this.session = "mediaSession" in navigator ? navigator.mediaSession : null;
      if (!this.session) return;
      const handlers = {
        play: actions.play,
        pause: actions.pause,
        stop: actions.pause,
        previoustrack: actions.previous,
        nexttrack: actions.next,
        seekto: (details) => this.seekTo(details.seekTime, details.fastSeek),
        seekbackward: (details) => this.seekTo(audio.currentTime - (details.seekOffset || SEEK_STEP_S)),
        seekforward: (details) => this.seekTo(audio.currentTime + (details.seekOffset || SEEK_STEP_S)),
      };
      for (const [action, handler] of Object.entries(handlers)) {
        try {
          this.session.setActionHandler(action, handler);
        } catch (error) {
          // this browser does not know the action
        }
      }
    }

    seekTo(seconds, fast) {
      const duration = Number.isFinite(this.audio.duration) ? this.audio.duration : Infinity;
      const target = Math.max(0, Math.min(seconds, duration));
      if (fast && this.audio.fastSeek) this.audio.fastSeek(target);
      else this.audio.currentTime = target;
      this.position();
    }

    show(song) {
      if (!this.session || !window.MediaMetadata) return;
      this.session.metadata = new MediaMetadata({
        title: song.title,
        artist: song.artist || "Unknown artist",
        album: song.album || song.genre || "SKYBEAT",
        artwork: [{ src: artwork(song.colour), sizes: `${ART_SIZE}x${ART_SIZE}`, type: "image/png" }],
      });
    }

    clear() {
      if (!this.session) return;
      this.session.metadata = null;
      this.session.playbackState = "none";
    }

    state(playing) {
      if (this.session) this.session.playbackState = playing ? "playing" : "paused";
    }

    position() {
      const audio = this.audio;
      if (!this.session || !this.session.setPositionState || !Number.isFinite(audio.duration) || !audio.duration) return;
      this.session.setPositionState({
        duration: audio.duration,
        playbackRate: audio.playbackRate || 1,
        position: Math.min(audio.currentTime, audio.duration),
      });
    }
  }

  window.SkyBeat.MediaControls = MediaControls;
})();
