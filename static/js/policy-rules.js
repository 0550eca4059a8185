// "Add rule" on the access-policy page without a round trip: a new empty row from the
// <template id="rule-row-template"> (Django's empty form, "__prefix__" numbered here), focused.
// Without JavaScript the button posts and the server answers the page with one more row.
(function () {
  "use strict";
  var button = document.querySelector("button[name=add_rule]");
  var template = document.getElementById("rule-row-template");
  var total = document.querySelector("input[name=rules-TOTAL_FORMS]");
  var body = document.querySelector("table.rules tbody");
  if (!button || !template || !total || !body) {
    return;
  }
  button.addEventListener("click", function (event) {
    event.preventDefault();
    var index = Number(total.value);
    var html = template.innerHTML.split("__prefix__").join(String(index)).split("__number__").join(String(index + 1));
    body.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = body.lastElementChild.querySelector("input[type=text]");
    if (first) {
      first.focus();
    }
  });
})();
