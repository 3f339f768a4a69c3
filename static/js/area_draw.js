// Drawing a context's area on the register's form, with Leaflet-Geoman. One area at a time: a new
// one replaces the last. Its GeoJSON goes into the hidden "area" field, which the server checks
// (geo/areas.py), and the typed location is cleared, since the drawn area replaces it. An area the
// form already holds (typed values kept after an error) or the stored one is drawn for editing.
(function () {
  "use strict";
  const frame = document.getElementById("area-map");
  const field = document.getElementById("area");
  const typedLocation = document.getElementById("location");
  const status = document.getElementById("area-status");
  if (!frame || !field || typeof L === "undefined" || !L.PM) return;
  const map = window[frame.dataset.map];
  const STYLE = { color: "#0d6efd", weight: 2 };
  let drawn = null;

  function say(text) {
    status.textContent = text;
  }

  function write() {
    field.value = drawn ? JSON.stringify(drawn.toGeoJSON().geometry) : "";
    if (drawn && typedLocation && typedLocation.value) {
      typedLocation.value = "";
      say("Area drawn: it replaces the typed location, which has been cleared.");
    } else {
      say(drawn ? "Area drawn: save the context to keep it." : "");
    }
  }

  function adopt(layer, changed) {
    if (drawn && drawn !== layer) map.removeLayer(drawn);
    drawn = layer;
    layer.setStyle(STYLE);
    layer.on("pm:edit pm:dragend", write);
    if (changed) write();
  }

  function draw(text, changed) {
    let layer = null;
    try {
      L.geoJSON(JSON.parse(text), { style: STYLE }).eachLayer(function (each) {
        if (!layer && each instanceof L.Polygon) layer = each;
      });
    } catch (error) {
      return; // not GeoJSON: the server's message beside the field says so
    }
    if (!layer) return;
    layer.addTo(map);
    adopt(layer, changed);
    map.fitBounds(layer.getBounds(), { maxZoom: 17, animate: false });
  }

  map.pm.addControls({
    position: "topleft",
    drawMarker: false, drawCircleMarker: false, drawPolyline: false, drawCircle: false, drawText: false,
    drawPolygon: true, drawRectangle: true,
    editMode: true, dragMode: true, removalMode: true,
    cutPolygon: false, rotateMode: false,
  });
  // Geoman's buttons are links named only by their container's tooltip: give each that name.
  map.getContainer().querySelectorAll(".leaflet-pm-toolbar [title] > .leaflet-buttons-control-button").forEach(function (button) {
    button.setAttribute("aria-label", button.parentElement.title);
  });
  map.pm.setGlobalOptions({ templineStyle: STYLE, hintlineStyle: STYLE });
  map.on("pm:create", function (event) { adopt(event.layer, true); });
  map.on("pm:remove", function (event) {
    if (event.layer !== drawn) return;
    drawn = null;
    field.value = "";
    say(frame.dataset.stored
      ? "Area removed from the map. Saving with no location keeps the stored area; type a location to replace it."
      : "Area removed.");
  });

  if (field.value) {
    draw(field.value, false);
  } else if (frame.dataset.stored) {
    draw(frame.dataset.stored, false);
  }
})();
