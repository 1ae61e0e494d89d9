// Broadcast form: show only the inputs the chosen audience, content and timing read.
// Without JavaScript every input stays visible and the server reads only what the choices need.
(function () {
  "use strict";

  function update(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (block) {
      var parts = block.getAttribute("data-show-when").split("=");
      var checked = form.querySelector('input[name="' + parts[0] + '"]:checked');
      block.hidden = !checked || checked.value !== parts[1];
    });
  }

  function init() {
    var form = document.getElementById("broadcast-form");
    if (!form) return;
    form.addEventListener("change", function () { update(form); });
    update(form);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
