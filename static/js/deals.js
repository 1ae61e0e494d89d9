// The deals board: native HTML5 drag and drop between and within columns, and the "Move to…" menu,
// both posting the move through htmx. The server answers with every stage's total (swapped out of
// band) and a status line; without JavaScript the menu is a plain form and the board reloads.
(function () {
  "use strict";

  var dragged = null;

  function cardsOf(column) {
    return Array.prototype.filter.call(column.children, function (el) { return el.classList.contains("deal-card"); });
  }

  function post(card, stageId, position) {
    var form = card.querySelector("[data-move-form]");
    var values = { stage_id: stageId };
    if (position !== null) { values.position = position; }
    var token = form && form.querySelector("input[name=csrf_token]");
    if (token) { values.csrf_token = token.value; }
    var select = form && form.querySelector("select[name=stage_id]");
    if (select) { select.value = String(stageId); }
    htmx.ajax("POST", card.getAttribute("data-move-url"), { source: card, swap: "none", values: values });
  }

  // The card the pointer is above: the dragged card goes before it (null: at the end of the column).
  function cardAfter(column, y) {
    var after = null;
    var closest = Number.NEGATIVE_INFINITY;
    cardsOf(column).forEach(function (card) {
      if (card === dragged) { return; }
      var box = card.getBoundingClientRect();
      var offset = y - box.top - box.height / 2;
      if (offset < 0 && offset > closest) { closest = offset; after = card; }
    });
    return after;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card");
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal-id"));
  });

  document.addEventListener("dragover", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board-cards");
    if (!column) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    var after = cardAfter(column, event.clientY);
    if (after === null) { column.appendChild(dragged); } else if (after !== dragged.nextSibling) { column.insertBefore(dragged, after); }
  });

  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board-cards");
    if (!column) { return; }
    event.preventDefault();
    if (dragged.parentNode !== column) { column.appendChild(dragged); }
    post(dragged, column.getAttribute("data-stage-id"), cardsOf(column).indexOf(dragged));
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
  });

  // "Move to…": the card goes to the top of the chosen column at once (where the server puts it) and keeps
  // the keyboard focus.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-move-form]")) { return; }
    var card = form.closest(".deal-card");
    var stageId = form.querySelector("select[name=stage_id]").value;
    var column = document.querySelector('.board-cards[data-stage-id="' + stageId + '"]');
    if (!card || !column || !window.htmx) { return; }  // the plain form posts and the board reloads
    event.preventDefault();
    column.insertBefore(card, column.firstElementChild);
    form.closest("details").open = false;
    card.querySelector("summary").focus();
    post(card, stageId, null);
  });
})();
