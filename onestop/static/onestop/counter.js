/* The counter form: choosing the items, the applicant or the number of newborns lays out
   the sections they need at once (the same as pressing "更新表单"; entries are kept). */
(function () {
  "use strict";
  document.querySelectorAll("form.counter-form").forEach(function (form) {
    var button = form.querySelector("[data-refresh-button]");
    if (!button) return;
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target && target.closest && target.closest("[data-refresh]") !== null) {
        form.requestSubmit(button);
      }
    });
  });
})();
