// The report's only code: select a node (from a finding or the drawing), show its details.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mlpolicy-data").textContent);
  var drawn = {};
  data.drawing.nodes.forEach(function (node) { drawn[node.id] = node; });

  function each(selector, action) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), action);
  }

  function select(node, fromDrawing) {
    document.body.setAttribute("data-selected", node);
    each("[data-node]", function (el) {
      el.classList.toggle("selected", el.getAttribute("data-node") === node);
    });
    each(".edge", function (el) {
      var ends = [el.getAttribute("data-source"), el.getAttribute("data-target")];
      el.classList.toggle("related", ends.indexOf(node) >= 0);
    });
    each(".details", function (el) { el.hidden = el.getAttribute("data-node") !== node; });
    document.getElementById("hint").hidden = true;
    document.getElementById("undrawn").hidden = Object.prototype.hasOwnProperty.call(drawn, node);
    if (!fromDrawing) {
      each("svg.graph .node", function (el) {
        if (el.getAttribute("data-node") === node) {
          el.scrollIntoView({ block: "center", inline: "center" });
        }
      });
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-node]");
    if (target && !event.target.closest("summary")) {
      select(target.getAttribute("data-node"), !!target.closest("svg"));
    }
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target.closest && event.target.closest("[data-node]");
    if (target && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      select(target.getAttribute("data-node"), !!target.closest("svg"));
    }
  });
})();
