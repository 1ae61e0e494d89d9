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

  function paintWithin(root) {
    if (root.nodeType !== 1) { return; }
    if (root.matches(SELECTOR)) { paint(root); }
    root.querySelectorAll(SELECTOR).forEach(paint);
  }

  // Runs before the browser paints what HTMX swapped in, so nothing flashes uncoloured.
  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) { mutation.addedNodes.forEach(paintWithin); });
  }).observe(document.documentElement, { childList: true, subtree: true });
  paintWithin(document.documentElement);
})();
