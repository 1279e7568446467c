/* Play a whole playlist in the mini-player: "Play all" starts the first row, and each song that ends starts the next
 * row's play button (the rows are the same song table as the library's, so the player needs nothing else). */
(function () {
  "use strict";
  const playAll = document.querySelector("[data-play-all]");
  const audio = document.getElementById("mini-player-audio");
  if (!playAll || !audio) return;
  const buttons = () => Array.from(document.querySelectorAll("table.songs [data-play]"));
  let current = -1;

  document.addEventListener("click", (event) => {
    const button = event.target.closest("table.songs [data-play]");
    if (button) current = buttons().indexOf(button);
  });
  playAll.addEventListener("click", () => {
    const first = buttons()[0];
    if (first) first.click();
  });
  audio.addEventListener("ended", () => {
    const next = buttons()[current + 1];
    if (next) next.click();
  });
})();
