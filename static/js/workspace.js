// The live update sends, out of band, only the error containers of the fields that have an error now. Just
// before it is swapped in, empty every field's container, so an error the clinician has fixed disappears.
// (Without JavaScript the whole page is posted and comes back with the errors in place: nothing to do.)
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (!event.detail.shouldSwap || !target || target.id !== "result-panel") return;
  for (const box of document.querySelectorAll(".field-error, .form-errors")) box.replaceChildren();
});
