/* The queue panel above the player bar: the queued songs in play order, each to jump to, move up or down, or
 * remove; the panel opens from the player's queue button and closes with Escape. */
(function () {
  "use strict";

  function element(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function iconButton(icon, label, action) {
    const button = element("button", "icon-btn");
    button.type = "button";
    button.dataset.action = action;
    button.setAttribute("aria-label", label);
    button.innerHTML = `<svg class="icon" aria-hidden="true"><use href="#i-${icon}"></use></svg>`;
    return button;
  }

  function row(item, current) {
    const li = element("li", "queue-item");
    li.dataset.key = item.key;
    li.classList.toggle("is-current", current);
    const main = element("button", "queue-play");
    main.type = "button";
    main.dataset.action = "jump";
    if (current) main.setAttribute("aria-current", "true");
    const swatch = element("span", "swatch");
    swatch.style.background = item.colour || "var(--muted)";
    const text = element("span", "queue-text");
    text.append(element("span", "queue-title", item.title), element("span", "queue-artist", item.artist || "Unknown artist"));
    main.append(element("span", "visually-hidden", current ? "Now playing: " : "Play: "), swatch, text);
    li.append(
      main,
      iconButton("up", `Move ${item.title} up`, "up"),
      iconButton("down", `Move ${item.title} down`, "down"),
      iconButton("close", `Remove ${item.title} from the queue`, "remove"),
    );
    return li;
  }

  class QueuePanel {
    /** actions: {jump(key), up(key), down(key), remove(key), clear()}; each returns what to focus next, if anything. */
    constructor(player, actions) {
      const find = (id) => document.getElementById(id);
      this.player = player;
      this.panel = find("queue-panel");
      this.list = find("queue-list");
      this.count = find("queue-count");
      this.size = find("player-queue-size");
      this.toggle = find("player-queue-toggle");
      this.toggle.addEventListener("click", () => this.open(this.panel.hidden));
      find("queue-close").addEventListener("click", () => this.close());
      find("queue-clear").addEventListener("click", actions.clear);
      this.panel.addEventListener("keydown", (event) => event.key === "Escape" && this.close());
      this.list.addEventListener("click", (event) => {
        const button = event.target.closest("[data-action]");
        if (button) actions[button.dataset.action](button.closest(".queue-item").dataset.key);
      });
    }

    /** Draw ``queue``; ``focus`` {key, action} puts the keyboard back on that button of the redrawn list. */
    render(queue, focus) {
      this.list.replaceChildren(...queue.items.map((item, index) => row(item, index === queue.index)));
      const size = queue.items.length;
      this.count.textContent = `${size} song${size === 1 ? "" : "s"}`;
      this.size.textContent = size ? String(size) : "";
      this.toggle.setAttribute("aria-label", `Queue: ${this.count.textContent}`);
      if (!size && !this.panel.hidden) this.open(false);
      if (focus) {
        const item = this.list.querySelector(`[data-key="${CSS.escape(focus.key)}"]`);
        const target = item && item.querySelector(`[data-action="${focus.action}"]`);
        (target || this.list.querySelector(".queue-play") || this.toggle).focus();
      }
    }

    open(open) {
      this.panel.hidden = !open;
      this.player.classList.toggle("is-open", open);
      this.toggle.setAttribute("aria-expanded", String(open));
      if (open) (this.list.querySelector(".is-current .queue-play") || this.panel.querySelector("button")).focus();
    }

    close() {
      this.open(false);
      this.toggle.focus();
    }
  }

  window.SkyBeat.QueuePanel = QueuePanel;
})();
