// The live hotspot map. It draws the hexagons and, when a setting changes, fetches the new
// hexagons and tables and swaps them in, keeping the map where the user left it. With "By zoom"
// the resolution follows the zoom. Without this script the settings form reloads the page.
(function () {
  "use strict";
  const form = document.getElementById("map-settings");
  const frame = document.getElementById("hex-map");
  if (!form || !frame || typeof L === "undefined") return;
  const map = window[frame.dataset.map];
  const layerControl = window[frame.dataset.layers];
  const zoomResolutions = JSON.parse(document.getElementById("zoom-resolutions").textContent);
  const status = document.getElementById("map-status");
  const resolution = form.elements.namedItem("res");
  const TOOLTIP_FIELDS = [["episodes", "Missing episodes"], ["young_people", "Young people"],
                          ["contexts", "Contexts"], ["gi_z", "Hotspot score (Gi* z)"]];
  let shownResolution = Number(frame.dataset.resolution);
  let latestRequest = 0;

  // Counts arrive as numbers and are written as text, never as HTML.
  function tooltip(layer) {
    const box = document.createElement("div");
    for (const [key, label] of TOOLTIP_FIELDS) {
      const value = layer.feature.properties[key];
      if (value === undefined) continue;
      const line = document.createElement("div");
      const name = document.createElement("strong");
      name.textContent = label + ": ";
      line.append(name, String(value));
      box.append(line);
    }
    return box;
  }

  const hexagons = L.geoJSON(null, {
    style: (feature) => ({fillColor: feature.properties.colour, fillOpacity: 0.65, color: "#6c757d", weight: 0.6,
                          className: "hexagon"}),
    onEachFeature: (feature, layer) => {
      layer.on("mouseover", () => layer.setStyle({weight: 2.5, color: "#212529"}));
      layer.on("mouseout", () => hexagons.resetStyle(layer));
    },
  }).bindTooltip(tooltip, {sticky: true});
  // A hexagon opens its own page, as its row in the table does, with the same settings.
  hexagons.on("click", (event) => {
    window.location.href = frame.dataset.hexagonUrl.replace("CELL", event.layer.feature.properties.h3) + "?" + settings();
  });
  hexagons.addTo(map);
  layerControl.addOverlay(hexagons, "Hexagons");

  // Each hexagon big enough on screen to hold its count shows it, not only in its tooltip.
  const LABEL_MIN_WIDTH = 34;  // pixels
  const labels = L.layerGroup().addTo(map);
  let measure = "episodes";

  function labelCounts() {
    labels.clearLayers();
    if (!map.hasLayer(hexagons)) return;  // hidden from the layer menu
    const shown = map.getBounds();
    hexagons.eachLayer((layer) => {
      const box = layer.getBounds();
      const width = map.latLngToLayerPoint(box.getNorthEast()).x - map.latLngToLayerPoint(box.getSouthWest()).x;
      const count = layer.feature.properties[measure];
      if (width < LABEL_MIN_WIDTH || count === undefined || !shown.intersects(box)) return;
      const text = document.createElement("span");
      text.textContent = String(count);
      labels.addLayer(L.marker(box.getCenter(), {
        icon: L.divIcon({className: "hex-count", html: text, iconSize: [0, 0]}), interactive: false, keyboard: false}));
    });
  }

  function draw(collection) {
    hexagons.clearLayers();
    measure = collection.measure || measure;
    hexagons.addData(collection);
    hexagons.bringToBack();  // under the parks and estates drawn as areas, which stay clickable
    labelCounts();
  }

  function settings() {
    const chosen = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (value !== "") chosen.set(name, value);
    }
    return chosen;
  }

  function showAutomaticResolution() {
    resolution.querySelector('option[value="auto"]').textContent = "By zoom (now " + shownResolution + ")";
  }

  async function update() {
    const ticket = ++latestRequest;
    const chosen = settings();
    const asked = new URLSearchParams(chosen);
    if (chosen.get("res") === "auto") asked.set("zoom", String(map.getZoom()));
    status.textContent = "Updating the map…";
    form.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.dataset.updateUrl + "?" + asked, {headers: {Accept: "application/json"}});
      const body = await response.json();
      if (ticket !== latestRequest) return;  // a newer setting has been asked for since
      if (!response.ok) {
        status.textContent = body.error;
        return;
      }
      draw(body.hexes);
      for (const [part, html] of Object.entries(body.html)) {
        document.getElementById(part + "-part").innerHTML = html;  // rendered and escaped by the server
      }
      showZoomButtons();
      shownResolution = body.resolution;
      showAutomaticResolution();
      history.replaceState(null, "", "?" + chosen);
      status.textContent = body.notice ||
        "Map updated: " + body.hexes.features.length + " hexagons at resolution " + body.resolution + ".";
    } catch (error) {
      if (ticket === latestRequest) {
        status.textContent = "The map could not be updated (" + error.message + "). The Update map button reloads the page.";
      }
    } finally {
      if (ticket === latestRequest) form.removeAttribute("aria-busy");
    }
  }

  draw(JSON.parse(document.getElementById("hex-data").textContent));
  if (frame.dataset.fit === "hexagons" && hexagons.getLayers().length) map.fitBounds(hexagons.getBounds());
  // A period from the menu clears the dates of one's choice; a date typed chooses them.
  const period = form.elements.period, dates = [form.elements.from, form.elements.to];
  period.addEventListener("change", () => {
    if (period.value !== "custom") dates.forEach((input) => { input.value = ""; });
  });
  dates.forEach((input) => input.addEventListener("change", () => {
    if (input.value) period.value = "custom";
  }));
  map.on("zoomend moveend overlayadd overlayremove", labelCounts);

  // "Show on the map" in the busiest table: centre the map on the row's hexagon and outline it
  // (at the same zoom: with "By zoom" a new zoom would fetch other hexagons).
  function showZoomButtons() {
    document.querySelectorAll("#busiest-part [data-zoom-to]").forEach((button) => { button.hidden = false; });
  }
  document.getElementById("busiest-part").addEventListener("click", (event) => {
    const button = event.target.closest("[data-zoom-to]");
    if (!button) return;
    const layer = hexagons.getLayers().find((each) => each.feature.properties.h3 === button.dataset.zoomTo);
    if (!layer) return;
    map.setView(layer.getBounds().getCenter(), map.getZoom(), {animate: false});
    hexagons.resetStyle();
    layer.setStyle({weight: 4, color: "#212529"});
    frame.scrollIntoView({block: "nearest"});
    status.textContent = "The map shows the hexagon near " + button.textContent.replace("Show on the map: ", "") + ".";
  });
  showZoomButtons();
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    update();
  });
  map.on("zoomend", () => {
    if (resolution.value === "auto" && zoomResolutions[map.getZoom()] !== shownResolution) update();
  });
  if (resolution.value === "auto" && zoomResolutions[map.getZoom()] !== shownResolution) update();
})();
