// Starts Swagger UI on the API docs page (a file of its own: the CSP allows no inline script).
(function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.dataset.specUrl, domNode: root, deepLinking: true });
})();
