// Filters of the report page: by status, section and level. Recommendations that do not match
// are hidden, and so is a section with none left.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) {
    return;
  }
  function apply() {
    var statuses = [];
    form.querySelectorAll("input[name=status]").forEach(function (box) {
      if (box.checked) {
        statuses.push(box.value);
      }
    });
    var section = form.elements.section.value;
    var level = form.elements.level.value;
    var shown = 0;
    document.querySelectorAll("article.rec").forEach(function (rec) {
      var keep = statuses.indexOf(rec.dataset.status) >= 0 &&
        (section === "" || rec.dataset.section === section) &&
        (level === "" || rec.dataset.level === level);
      rec.hidden = !keep;
      shown += keep ? 1 : 0;
    });
    document.querySelectorAll("section.sec").forEach(function (sec) {
      sec.hidden = sec.querySelector("article.rec:not([hidden])") === null;
    });
    document.getElementById("shown").textContent = String(shown);
  }
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  apply();
}());
