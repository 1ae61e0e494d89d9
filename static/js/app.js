// Confirmation for destructive forms: works for plain submits and HTMX alike.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var message = form.getAttribute && form.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// Copy buttons: <button data-copy="#input-id">.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) { return; }
  var input = document.querySelector(button.getAttribute("data-copy"));
  if (!input) { return; }
  input.select();
  var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(input.value).then(done); }
  else { document.execCommand("copy"); done(); }
});

// Per-item colours (tag pills, avatar hues) arrive as data attributes: the Content-Security-Policy
// allows no inline style attributes, while styles set from a script file are allowed.
// Times arrive in UTC as <time datetime="…" data-local="datetime|date|time"> and are shown in the
// reader's own zone, on every page and in whatever HTMX swaps in.
(function () {
  "use strict";
  var PROPERTIES = { "data-pill": "--pill", "data-hue": "--hue" };
  var SELECTOR = Object.keys(PROPERTIES).map(function (name) { return "[" + name + "]"; }).join(",");

  function paint(element) {
    Object.keys(PROPERTIES).forEach(function (name) {
      var value = element.getAttribute(name);
      if (value !== null) { element.style.setProperty(PROPERTIES[name], value); }
    });
  }

  function localize(element) {
    var at = new Date(element.getAttribute("datetime"));
    if (isNaN(at)) { return; }
    var kind = element.getAttribute("data-local");
    var text;
    if (kind === "time") {
      text = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } else if (kind === "date") {
      text = at.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long", year: "numeric" });
    } else {
      text = at.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    }
    // Writing the same text again would queue another mutation for nothing.
    if (element.textContent !== text) { element.textContent = text; }
  }

  function paintWithin(root) {
    if (root.nodeType !== 1) { return; }
    if (root.matches(SELECTOR)) { paint(root); }
    root.querySelectorAll(SELECTOR).forEach(paint);
    if (root.matches("time[data-local]")) { localize(root); }
    root.querySelectorAll("time[data-local]").forEach(localize);
  }

  // Runs before the browser paints what HTMX swapped in, so nothing flashes uncoloured.
  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) { mutation.addedNodes.forEach(paintWithin); });
  }).observe(document.documentElement, { childList: true, subtree: true });
  paintWithin(document.documentElement);
})();

// The top bar's menu on narrow screens: the button opens and closes the area links (CSS shows them
// always on wide screens). Escape or a click elsewhere closes it.
(function () {
  "use strict";

  function toggleButton() { return document.querySelector("[data-menu-toggle]"); }

  function setOpen(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    var bar = button.closest(".topbar");
    if (bar) { bar.classList.toggle("menu-open", open); }
  }

  document.addEventListener("click", function (event) {
    var button = toggleButton();
    if (!button) { return; }
    if (event.target.closest && event.target.closest("[data-menu-toggle]")) {
      setOpen(button, button.getAttribute("aria-expanded") !== "true");
    } else if (button.getAttribute("aria-expanded") === "true" && !event.target.closest(".topbar")) {
      setOpen(button, false);
    }
  });

  document.addEventListener("keydown", function (event) {
    var button = toggleButton();
    if (event.key === "Escape" && button && button.getAttribute("aria-expanded") === "true") {
      setOpen(button, false);
      button.focus();
    }
  });
})();
