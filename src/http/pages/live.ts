// The one script of the pages: keeps an open investigation or action page in step with the store,
// without a reload. Every few seconds, while the tab is visible, it fetches the same page again and
// swaps its <main> when it changed. Polling, not a push channel: any web process answers it, and a
// page left open costs one small request per interval.
export const LIVE_SCRIPT_PATH = "/pages/live.js";
export const LIVE_INTERVAL_MS = 3000;

export const LIVE_SCRIPT = `"use strict";
(() => {
  let shown = document.querySelector("main")?.innerHTML;
  async function refresh() {
    if (document.hidden) return;
    try {
      const res = await fetch(location.href, { headers: { accept: "text/html" }, cache: "no-store" });
      if (!res.ok) return;
      const page = new DOMParser().parseFromString(await res.text(), "text/html");
      const main = page.querySelector("main");
      if (!main || main.innerHTML === shown) return;
      document.querySelector("main")?.replaceWith(document.adoptNode(main));
      document.title = page.title;
      shown = main.innerHTML;
    } catch {
      // Offline for a moment: the next tick tries again.
    }
  }
  setInterval(refresh, ${LIVE_INTERVAL_MS});
  document.addEventListener("visibilitychange", refresh);
})();
`;
