// Written for this book (not vendored). Loaded before embed-amd.js on widget pages.
//
// The widget controls typeset their labels with the MathJax 2 API whenever window.MathJax exists:
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]). The book loads MathJax 3, which has no
// Hub, so every label threw "Cannot read properties of undefined (reading 'Queue')". This gives
// whatever object window.MathJax holds (myst's config object, later MathJax 3 itself) a Hub whose
// Queue typesets the element with MathJax 3 once it is ready. Before that nothing is needed:
// MathJax 3 typesets the whole page, widget labels included, when it starts.
(function () {
  function typeset(command) {
    var mj = window.MathJax;
    var element = command && command[2];
    if (mj && typeof mj.typesetPromise === "function" && element) {
      mj.typesetPromise([element]).catch(function () {});
    }
  }
  function withHub(value) {
    if (value && typeof value === "object" && !value.Hub) {
      value.Hub = { Queue: typeset };
    }
    return value;
  }
  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); },
  });
})();
