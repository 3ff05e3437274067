/* The book's search results quote its sentences: no code, no raw TeX, no program output.
 *
 * Sphinx's search quotes each result with text around the first match, taken from the page's
 * whole text; on these pages that text includes the TeX source of formulas (MathJax renders it
 * in the browser) and the code cells. This wraps Search.htmlToText so that the quoted text
 * leaves them out. */
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
  const htmlToText = Search.htmlToText;
  const hidden = ".math, mjx-container, .cell_input, div.highlight, pre, .cell_output, " +
                 "table.tlkit-table";
  Search.htmlToText = (htmlString, anchor) => {
    const page = new DOMParser().parseFromString(htmlString, "text/html");
    page.querySelectorAll(hidden).forEach((element) => element.remove());
    return htmlToText(page.documentElement.outerHTML, anchor);
  };
});
