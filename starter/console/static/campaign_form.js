// The new-campaign form shows only the chosen kind's terms (and the offer's, and the start time's):
// an element with data-show="name=a|b" is shown and enabled while the form's `name` is a or b.
// Hidden fieldsets are disabled, so neither the post nor the live preview (htmx) sends them.
(function () {
  const form = document.querySelector("form.campaign-form");
  if (!form) return;
  const current = (name) => {
    const control = form.elements.namedItem(name);
    return control ? control.value : "";
  };
  const update = () => {
    for (const el of form.querySelectorAll("[data-show]")) {
      const [name, choices] = el.dataset.show.split("=");
      const on = choices.split("|").includes(current(name));
      el.hidden = !on;
      el.disabled = !on;
    }
  };
  // On the controls themselves: the form's own change listener (the preview) runs after this one.
  for (const el of form.querySelectorAll("select[name=kind], input[name='offer.gives'], input[name=when]")) {
    el.addEventListener("change", update);
  }
  update();
  // A refused campaign or segment: its form, as typed, and why, in view (the lists come first).
  const faults = document.querySelector("[data-testid=form-faults], [data-testid=segment-fault]");
  if (faults) faults.scrollIntoView({ block: "center" });
})();
