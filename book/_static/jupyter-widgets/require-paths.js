// Written for this book (not vendored). Loaded between require.js and embed-amd.js.
//
// embed-amd.js finds the files it ships beside itself (the Font Awesome fonts of the widget CSS)
// relative to the require.js URL of its AMD module "@jupyter-widgets/html-manager/dist/...". With
// no configuration that URL is relative to the page, so the fonts were requested from
// <page folder>/@jupyter-widgets/html-manager/dist/ and failed. Map that module folder to the
// folder of this script, where the fonts are vendored.
(function () {
  var here = document.currentScript.src.replace(/[?#].*$/, "").replace(/\/[^/]*$/, "");
  window.requirejs.config({ paths: { "@jupyter-widgets/html-manager/dist": here } });
})();
