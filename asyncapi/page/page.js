// Renders the app's AsyncAPI document with the AsyncAPI React component's
// standalone bundle, served by the app itself: no request leaves the origin.
(function () {
  "use strict";
  var root = document.getElementById("asyncapi");
  function fail(message) {
    root.dataset.state = "error";
    root.innerHTML = "";
    var p = document.createElement("p");
    p.className = "asyncapi-status error";
    p.textContent = "Could not show the AsyncAPI document: " + message;
    root.appendChild(p);
  }
  if (typeof AsyncApiStandalone === "undefined") {
    fail("the AsyncAPI component did not load.");
    return;
  }
  fetch(root.dataset.spec, { headers: { Accept: "application/json" } })
    .then(function (resp) {
      if (!resp.ok) {
        throw new Error(root.dataset.spec + " answered " + resp.status);
      }
      return resp.text();
    })
    .then(function (spec) {
      root.innerHTML = "";
      root.dataset.state = "rendered";
      AsyncApiStandalone.render({
        schema: spec,
        config: {
          show: { sidebar: true, info: true, servers: true, operations: true, messages: true, schemas: true, errors: true },
          sidebar: { showOperations: "byDefault" },
        },
      }, root);
    })
    .catch(function (err) { fail(err.message); });
})();
