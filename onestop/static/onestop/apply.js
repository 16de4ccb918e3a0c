/* Show a field only when the answer it depends on is given (data-show-if="name=value|…").
   Without JavaScript every field shows; the server ignores the ones that do not apply. */
(function () {
  "use strict";
  function current(form, name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    if (!inputs.length) return null;  // not on this page: do not hide
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) return el.value;
      } else {
        return el.value;
      }
    }
    return "";
  }
  function update(form) {
    form.querySelectorAll("[data-show-if]").forEach(function (row) {
      var show = row.getAttribute("data-show-if").split("|").some(function (cond) {
        var eq = cond.indexOf("=");
        var value = current(form, cond.slice(0, eq));
        return value === null || value === cond.slice(eq + 1);
      });
      row.hidden = !show;
    });
  }
  document.querySelectorAll("form.apply").forEach(function (form) {
    update(form);
    form.addEventListener("change", function () { update(form); });
  });
})();
