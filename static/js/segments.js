// Segment form: add and remove condition rows, and show only the inputs each condition reads.
// Without this file the same buttons submit the form and the server re-renders it (progressive enhancement).
(function () {
  "use strict";

  function showInputs(row) {
    var select = row.querySelector("[data-op]");
    var option = select && select.options[select.selectedIndex];
    var wanted = ((option && option.getAttribute("data-inputs")) || "").split(" ");
    row.querySelectorAll("[data-input]").forEach(function (label) {
      label.hidden = wanted.indexOf(label.getAttribute("data-input")) === -1;
    });
  }

  function nextIndex(container) {
    var highest = -1;
    container.querySelectorAll("[data-op]").forEach(function (select) {
      var match = /^conditions-(\d+)-op$/.exec(select.name);
      if (match) { highest = Math.max(highest, parseInt(match[1], 10)); }
    });
    return highest + 1;
  }

  function refresh(form) {
    // The fieldset's hx-trigger listens for this: the preview follows added and removed rows.
    var filter = form.querySelector("#segment-filter");
    if (filter) { filter.dispatchEvent(new CustomEvent("segments-changed", { bubbles: true })); }
  }

  function addRow(form) {
    var template = document.getElementById("condition-template");
    var container = form.querySelector("#conditions");
    if (!template || !container) { return; }
    var index = String(nextIndex(container));
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.split("__i__").join(index);
    var row = holder.firstElementChild;
    container.appendChild(row);
    showInputs(row);
    row.querySelector("[data-op]").focus();
  }

  function removeRow(form, row) {
    var container = form.querySelector("#conditions");
    if (container.querySelectorAll("[data-condition]").length > 1) {
      row.remove();
    } else {
      // The last row is emptied rather than removed, so there is always one to fill.
      row.querySelectorAll("input, select").forEach(function (input) {
        if (input.tagName === "SELECT") {
          Array.prototype.forEach.call(input.options, function (o) { o.selected = false; });
          input.selectedIndex = input.multiple ? -1 : 0;
        } else { input.value = ""; }
      });
      showInputs(row);
    }
    refresh(form);
  }

  function setUp(form) {
    if (form.dataset.enhanced) { return; }
    form.dataset.enhanced = "true";
    form.querySelectorAll("[data-refresh-preview]").forEach(function (b) { b.hidden = true; });
    form.querySelectorAll("[data-condition]").forEach(showInputs);
    form.addEventListener("change", function (event) {
      if (event.target.matches("[data-op]")) { showInputs(event.target.closest("[data-condition]")); }
    });
    form.addEventListener("click", function (event) {
      var add = event.target.closest("[data-add-condition]");
      var remove = event.target.closest("[data-remove-condition]");
      if (add) {
        event.preventDefault();
        addRow(form);
      } else if (remove) {
        event.preventDefault();
        removeRow(form, remove.closest("[data-condition]"));
      }
    });
  }

  function init() {
    var form = document.getElementById("segment-form");
    if (form) { setUp(form); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
