/* The play queue as plain data: songs in play order, the current position, shuffle and repeat.
 *
 * A song is {id, src, title, artist, album, url, duration, genre, colour}; each entry of the queue gets its own
 * key (the same song may be queued twice). Shuffle reorders the songs after the current one and remembers the
 * order it came from, so turning it off puts them back. Repeat is "off", "all" (wrap around) or "one".
 */
(function () {
  "use strict";

  const REPEAT_MODES = ["off", "all", "one"];
  let lastKey = 0;

  function newKey() {
    lastKey += 1;
    return `${Date.now().toString(36)}-${lastKey}`;
  }

  function entry(song) {
    return { ...song, key: newKey() };
  }

  class Queue {
    constructor() {
      this.items = [];
      this.index = -1;
      this.shuffle = false;
      this.repeat = "off";
      this.order = []; // keys in their unshuffled order, while shuffle is on
    }

    current() {
      return this.items[this.index] || null;
    }

    /** Replace the queue with ``songs`` and stand on the one at ``start``. */
    replace(songs, start = 0) {
      this.items = songs.map(entry);
      this.index = this.items.length ? Math.min(Math.max(start, 0), this.items.length - 1) : -1;
      this.order = this.items.map((item) => item.key);
      if (this.shuffle) this.shuffleUpcoming();
      return this.current();
    }

    /** Put ``song`` right after the current one (first, if nothing plays); returns the new entry. */
    insertNext(song) {
      const item = entry(song);
      this.items.splice(this.index + 1, 0, item);
      this.rememberOrder(item, this.items[this.index] || null);
      if (this.index < 0) this.index = 0;
      return item;
    }

    /** Play ``song`` now: it goes right after the current song and becomes current. */
    playNow(song) {
      const item = this.insertNext(song);
      this.index = this.items.indexOf(item);
      return item;
    }

    append(song) {
      const item = entry(song);
      this.items.push(item);
      if (this.shuffle) this.order.push(item.key);
      if (this.index < 0) this.index = 0;
      return item;
    }

    rememberOrder(item, after) {
      if (!this.shuffle) return;
      const at = after ? this.order.indexOf(after.key) + 1 : 0;
      this.order.splice(at, 0, item.key);
    }

    /** Move to the entry with ``key``; returns it (or null when it is not queued). */
    jump(key) {
      const index = this.items.findIndex((item) => item.key === key);
      if (index < 0) return null;
      this.index = index;
      return this.current();
    }

    /** The next entry, or null at the end. ``ended``: the current song finished by itself (repeat one applies). */
    next(ended = false) {
      if (!this.items.length) return null;
      if (ended && this.repeat === "one") return this.current();
      if (this.index + 1 < this.items.length) this.index += 1;
      else if (this.repeat === "all") this.index = 0;
      else return null;
      return this.current();
    }

    previous() {
      if (!this.items.length) return null;
      if (this.index > 0) this.index -= 1;
      else if (this.repeat === "all") this.index = this.items.length - 1;
      return this.current();
    }

    /** Remove an entry; returns true when it was the current one (the player then loads the new current). */
    remove(key) {
      const index = this.items.findIndex((item) => item.key === key);
      if (index < 0) return false;
      this.items.splice(index, 1);
      this.order = this.order.filter((k) => k !== key);
      const wasCurrent = index === this.index;
      if (index < this.index || (wasCurrent && this.index >= this.items.length)) this.index -= 1;
      if (!this.items.length) this.index = -1;
      return wasCurrent;
    }

    /** Move an entry ``by`` places (-1 up, +1 down); the current song stays current. */
    move(key, by) {
      const from = this.items.findIndex((item) => item.key === key);
      const to = from + by;
      if (from < 0 || to < 0 || to >= this.items.length) return false;
      const current = this.current();
      const [item] = this.items.splice(from, 1);
      this.items.splice(to, 0, item);
      this.index = this.items.indexOf(current);
      return true;
    }

    clear() {
      this.items = [];
      this.index = -1;
      this.order = [];
    }

    setShuffle(on) {
      if (on === this.shuffle) return;
      this.shuffle = on;
      if (on) {
        this.order = this.items.map((item) => item.key);
        this.shuffleUpcoming();
      } else {
        const rank = new Map(this.order.map((key, i) => [key, i]));
        const current = this.current();
        this.items.sort((a, b) => (rank.get(a.key) ?? Infinity) - (rank.get(b.key) ?? Infinity));
        this.index = this.items.indexOf(current);
        this.order = [];
      }
    }

    shuffleUpcoming() {
      for (let i = this.items.length - 1; i > this.index + 1; i -= 1) {
        const j = this.index + 1 + Math.floor(Math.random() * (i - this.index));
        [this.items[i], this.items[j]] = [this.items[j], this.items[i]];
      }
    }

    cycleRepeat() {
      this.repeat = REPEAT_MODES[(REPEAT_MODES.indexOf(this.repeat) + 1) % REPEAT_MODES.length];
      return this.repeat;
    }

    toJSON() {
      return { items: this.items, index: this.index, shuffle: this.shuffle, repeat: this.repeat, order: this.order };
    }

    static fromJSON(data) {
      const queue = new Queue();
      if (!data || !Array.isArray(data.items)) return queue;
      queue.items = data.items.filter((item) => item && item.key && item.src);
      queue.index = Math.min(Number.isInteger(data.index) ? data.index : -1, queue.items.length - 1);
      queue.shuffle = Boolean(data.shuffle);
      queue.repeat = REPEAT_MODES.includes(data.repeat) ? data.repeat : "off";
      queue.order = Array.isArray(data.order) ? data.order : [];
      if (queue.index < 0 && queue.items.length) queue.index = 0;
      return queue;
    }
  }

  window.SkyBeat.Queue = Queue;
})();
