/* A search box above each long picker (<select data-picker>): typing a few characters of
   a name (长春, 妇幼, 汉) keeps only the matching options. Without JavaScript the select
   works as it is. No inline script: the pages' CSP forbids it. */
(function () {
  "use strict";
  function attach(select) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "picker-search";
    box.placeholder = select.getAttribute("data-search-placeholder") || "搜索名称";
    box.setAttribute("aria-label", box.placeholder);
    box.setAttribute("data-picker-for", select.name);
    select.parentNode.insertBefore(box, select);
    box.addEventListener("input", function () {
      var words = box.value.trim().toLowerCase();
      var first = null;
      select.querySelectorAll("option").forEach(function (option) {
        if (!option.value) return;
        var match = !words || option.textContent.toLowerCase().indexOf(words) !== -1;
        option.hidden = !match;
        option.disabled = !match && option.value !== select.value;
        if (match && first === null) first = option;
      });
      if (words && first !== null && (select.value === "" || select.selectedOptions[0].hidden)) {
        select.value = first.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }
  document.querySelectorAll("select[data-picker]").forEach(attach);
})();
