/* Draws the book's live widgets (written by pretrain_diversity.figures.live) in the browser.
 *
 * Each widget is a <div class="vega-widget" id="..."> followed by its Vega-Lite specification as
 * <script type="application/json" class="vega-widget-spec" data-target="...">: data, not code, so
 * nothing executable comes from a page's outputs. This file, vendored Vega-Lite and vega-embed do
 * the rest; every value a widget shows is computed here from the embedded data and the sliders.
 *
 * Preset buttons (<button class="vega-preset" data-target=... data-signals='{"a": 1, ...}'>) set
 * several sliders at once; Vega updates the bound inputs itself.
 *
 * For tests and curious readers, the Vega views are kept in window.bookVegaViews by widget id, and
 * each widget's div gets data-vega-ready="true" once it has been drawn.
 */
(function () {
  "use strict";
  window.bookVegaViews = window.bookVegaViews || {};

  function fail(el, message) {
    el.setAttribute("data-vega-error", message);
    var p = document.createElement("p");
    p.className = "vega-widget-error";
    p.textContent = "This widget could not be drawn: " + message;
    el.appendChild(p);
    console.error("vega widget " + el.id + ": " + message);
  }

  function draw(script) {
    var id = script.getAttribute("data-target");
    var el = document.getElementById(id);
    if (!el) {
      console.error("vega widget spec without its div: " + id);
      return;
    }
    if (typeof vegaEmbed !== "function") {
      fail(el, "vega-embed is not loaded");
      return;
    }
    var spec;
    try {
      spec = JSON.parse(script.textContent);
    } catch (e) {
      fail(el, "its specification is not valid JSON (" + e + ")");
      return;
    }
    vegaEmbed(el, spec, { actions: false, renderer: "svg" })
      .then(function (result) {
        window.bookVegaViews[id] = result.view;
        return result.view.runAsync();
      })
      .then(function () {
        el.setAttribute("data-vega-ready", "true");
      })
      .catch(function (e) {
        fail(el, String(e));
      });
  }

  function preset(button) {
    var view = window.bookVegaViews[button.getAttribute("data-target")];
    if (!view) return;
    var values = JSON.parse(button.getAttribute("data-signals"));
    Object.keys(values).forEach(function (name) {
      view.signal(name, values[name]);
    });
    view.runAsync();
  }

  function start() {
    document.querySelectorAll("script.vega-widget-spec").forEach(draw);
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("button.vega-preset");
      if (button) preset(button);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
