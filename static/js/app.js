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
