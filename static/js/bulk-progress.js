// The bulk-invite job page follows the job without reloading itself (a timed meta refresh is a
// WCAG 2.2.1 failure and moves the reader back to the top): while the job runs, the page's own
// URL is fetched every 2 seconds and #bulk-job (progress, counts, problem rows) is swapped in;
// its card is aria-live="polite". Without JavaScript the "Show progress" link reloads by hand.
(function () {
  "use strict";
  var job = document.getElementById("bulk-job");
  if (!job || job.getAttribute("data-finished") === "true") {
    return;
  }
  function poll() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("bulk-job");
        if (!fresh) {
          return;
        }
        job.innerHTML = fresh.innerHTML;
        if (fresh.getAttribute("data-finished") !== "true") {
          window.setTimeout(poll, 2000);
        } else {
          job.setAttribute("data-finished", "true");
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }
  window.setTimeout(poll, 2000);
})();
