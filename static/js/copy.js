// Copy buttons: <button data-copy-target="element-id" hidden> becomes visible and copies that
// element's text. Without JavaScript the button stays hidden and the text stays selectable.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target || !navigator.clipboard) {
      return;
    }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select and copy"; }
      );
      window.setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
})();
