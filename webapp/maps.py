"""Leaflet maps made with folium, using only the scripts and styles this app serves itself."""

import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from html import escape
from pathlib import Path

import folium
from flask import current_app, url_for
from folium.plugins import MarkerCluster
from geoalchemy2.shape import to_shape
from jinja2 import Template
from markupsafe import Markup
from shapely.geometry import mapping, shape

from geo.grid import METRES_PER_MILE
from models.codes import CONTEXT_KIND_ICONS, CONTEXT_KIND_LABELS, ContextKind
from models.times import LONDON
from webapp.headers import csp_nonce

# ColorBrewer YlOrRd, five classes: readable on grey or on a basemap.
HEAT_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA_BACKGROUND = "#e9ecef"


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def white_text_on(colour: str) -> bool:
    """Whether white text contrasts more than black with ``colour`` (WCAG contrast ratio)."""
    luminance = _luminance(colour)
    return (1.05 / (luminance + 0.05)) > ((luminance + 0.05) / 0.05)
CONTEXT_TOOLTIP_FIELDS = (["name", "kind"], ["Context", "Kind"])


# Quantiles where each colour class starts: counts are heavily skewed (a few hexagons hold most
# episodes), so the upper classes are narrow and the darkest picks out the top few per cent.
CLASS_QUANTILES = (0.0, 0.5, 0.75, 0.9, 0.97)


def class_breaks(counts: list[int]) -> list[int]:
    """Lower bounds of the colour classes, at :data:`CLASS_QUANTILES` of the counts.

    >>> class_breaks(list(range(1, 101)))
    [1, 51, 76, 91, 98]
    >>> class_breaks([4, 4, 4])
    [4]
    >>> class_breaks([])
    []
    """
    ordered = sorted(counts)
    breaks: list[int] = []
    for quantile in CLASS_QUANTILES if ordered else ():
        bound = ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]
        if not breaks or bound > breaks[-1]:
            breaks.append(bound)
    return breaks


def legend(breaks: list[int], maximum: int) -> list[dict]:
    """Legend rows: colour and the range of counts it stands for, in words. A top class of one
    count is the busiest hexagon alone, and says so.

    >>> [row["label"] for row in legend([1, 2, 5], 9)]
    ['1', '2 to 4', '5 to 9']
    >>> [row["label"] for row in legend([1, 23, 144, 278], 278)]
    ['1 to 22', '23 to 143', '144 to 277', '278 (the most)']
    """
    rows = []
    for index, low in enumerate(breaks):
        last = index + 1 == len(breaks)
        high = maximum if last else breaks[index + 1] - 1
        label = f"{low} to {high}" if low != high else f"{low} (the most)" if last and index else str(low)
        rows.append({"colour": colour_for(low, breaks), "label": label})
    return rows


def colour_for(count: int, breaks: list[int]) -> str:
    position = max(0, bisect_right(breaks, count) - 1)
    # Spread fewer classes across the whole ramp so the darkest colour always means "most".
    step = (len(HEAT_COLOURS) - 1) / max(1, len(breaks) - 1)
    return HEAT_COLOURS[round(position * step)]


def vendor(path: str) -> str:
    return url_for("static", filename=f"vendor/{path}")


def _base_map(location: tuple[float, float], zoom: int) -> folium.Map:
    """A Leaflet map on this app's own scripts and styles (folium's defaults are CDN addresses),
    with the configured basemap if there is one."""
    # maxZoom on the map itself: without a tile layer nothing else sets it, and clustering needs it.
    fmap = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=True, maxZoom=19)
    fmap.default_js = [
        ("leaflet", vendor("leaflet/dist/leaflet.js")),
        ("awesome_markers", vendor("leaflet.awesome-markers/dist/leaflet.awesome-markers.js")),
    ]
    fmap.default_css = [
        ("leaflet_css", vendor("leaflet/dist/leaflet.css")),
        ("awesome_markers_font_css", vendor("@fortawesome/fontawesome-free/css/all.min.css")),
        ("awesome_markers_css", vendor("leaflet.awesome-markers/dist/leaflet.awesome-markers.css")),
    ]
    fmap.get_root().header.add_child(
        folium.Element(f"<style>.folium-map {{ background: {NO_DATA_BACKGROUND}; }}</style>")
    )
    # Leaflet makes every marker and cluster a tab stop with no name a screen reader could say,
    # dozens before the page's tables; the register and the tables list what they show, so they leave the
    # tab order. First in the map's script, before any marker exists.
    fmap.get_root().script.add_child(folium.Element("L.Marker.prototype.options.keyboard = false;"), index=0)
    tile_url = current_app.config["TILE_URL"]
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=current_app.config["TILE_ATTRIBUTION"] or " ", name="Basemap").add_to(fmap)
    return fmap


def _standalone_map(location: tuple[float, float], zoom: int) -> folium.Map:
    """A map that needs neither this server nor the network: Leaflet's script and style inlined."""
    fmap = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=True, maxZoom=19)
    fmap.default_js, fmap.default_css = [], []
    vendor_dir = Path(current_app.static_folder) / "vendor" / "leaflet" / "dist"
    script = (vendor_dir / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    style = (vendor_dir / "leaflet.css").read_text(encoding="utf-8")
    fmap.get_root().header.add_child(folium.Element(f"<style>{style}</style><script>{script}</script>"))
    fmap.get_root().header.add_child(
        folium.Element(f"<style>html, body {{ margin: 0; }} .folium-map {{ background: {NO_DATA_BACKGROUND}; }}</style>")
    )
    return fmap


def _pin(glyph: str, colour: str) -> folium.Marker:
    """A marker with a Font Awesome glyph."""
    return folium.Marker(icon=folium.Icon(icon=glyph, prefix="fa", color=colour))


def _marker_cluster() -> MarkerCluster:
    # Nearby contexts gather into numbered clusters until zoomed in, so they do not hide the heat map.
    cluster = MarkerCluster(name="Contexts", disableClusteringAtZoom=16, showCoverageOnHover=False)
    cluster.default_js = [("markerclusterjs", vendor("leaflet.markercluster/dist/leaflet.markercluster.js"))]
    cluster.default_css = [
        ("markerclustercss", vendor("leaflet.markercluster/dist/MarkerCluster.css")),
        ("markerclusterdefaultcss", vendor("leaflet.markercluster/dist/MarkerCluster.Default.css")),
    ]
    return cluster


def _context_properties(context) -> dict:
    # Leaflet tooltips insert text as HTML: user-entered names are escaped here, on the server.
    kind = ContextKind(context.kind)
    return {"name": escape(context.name), "kind": escape(CONTEXT_KIND_LABELS[kind])}


def _context_points(contexts) -> dict[ContextKind, list[dict]]:
    by_kind: dict[ContextKind, list[dict]] = {}
    for context in contexts:
        by_kind.setdefault(ContextKind(context.kind), []).append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [context.lng, context.lat]},
                "properties": _context_properties(context),
            }
        )
    return by_kind


def _context_areas(contexts) -> list[dict]:
    return [
        {
            "type": "Feature",
            "geometry": json.loads(context.area_geojson),
            "properties": _context_properties(context) | {"colour": CONTEXT_KIND_ICONS[ContextKind(context.kind)][1]},
        }
        for context in contexts
        if context.area_geojson
    ]


MEASURE_LABELS = {"episodes": "Missing episodes", "contexts": "Contexts",
                  "young_people": "Young people"}
MEASURE_ONE = {"episodes": "missing episode", "contexts": "context", "young_people": "young person"}


def _hex_base(contexts: list, outline_geojson: str | None, standalone: bool) -> folium.Map:
    """A map with the area's outline, context markers by kind and context areas; no hexagons yet."""
    fmap = _standalone_map((51.49, -0.19), 13) if standalone else _base_map((51.49, -0.19), 13)
    cluster = folium.FeatureGroup(name="Contexts") if standalone else _marker_cluster()

    if outline_geojson:
        folium.GeoJson(
            json.loads(outline_geojson),
            name="Area outline (approximate)",
            style_function=lambda _: {"color": "#495057", "weight": 2, "fill": False, "dashArray": "6 4"},
            interactive=False,
        ).add_to(fmap)

    # One GeoJSON layer per kind rather than one folium element per context: folium compiles a
    # template for every element, which took seconds for a few thousand contexts.
    for kind, features in _context_points(contexts).items():
        glyph, colour = CONTEXT_KIND_ICONS[kind]
        marker = (folium.CircleMarker(radius=6, color=colour, weight=2, fill=True, fill_opacity=0.9) if standalone
                  else _pin(glyph, colour))
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            marker=marker,
            tooltip=folium.GeoJsonTooltip(*CONTEXT_TOOLTIP_FIELDS),
        ).add_to(cluster)
    areas = folium.FeatureGroup(name="Context areas (parks, estates)")
    area_features = _context_areas(contexts)
    if area_features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": area_features},
            style_function=lambda feature: {"color": feature["properties"]["colour"], "weight": 1.5, "fillOpacity": 0.08},
            tooltip=folium.GeoJsonTooltip(*CONTEXT_TOOLTIP_FIELDS),
        ).add_to(areas)
    areas.add_to(fmap)
    cluster.add_to(fmap)
    return fmap


def _fit(fmap: folium.Map, outline_geojson: str | None, hexes: dict | None) -> None:
    """Open on the user's own area, or else on the hexagons."""
    if outline_geojson:
        min_lng, min_lat, max_lng, max_lat = shape(json.loads(outline_geojson)).bounds
    elif hexes and hexes["features"]:
        min_lng, min_lat, max_lng, max_lat = shape(
            {"type": "GeometryCollection", "geometries": [f["geometry"] for f in hexes["features"]]}
        ).bounds
    else:
        return
    fmap.fit_bounds([(min_lat, min_lng), (max_lat, max_lng)])


class PageHandle(folium.MacroElement):
    """Puts a folium object on ``window`` under its own name, for the page's own script: folium
    declares some objects (the layer control) with ``let``, which a later script cannot look up."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            window.{{ this.target.get_name() }} = {{ this.target.get_name() }};
        {% endmacro %}
    """)

    def __init__(self, target):
        super().__init__()
        self.target = target


def base_hex_map(contexts: list, outline_geojson: str | None) -> tuple[folium.Map, folium.LayerControl]:
    """The dashboard's map without its hexagons, which the page's script draws and redraws (it
    adds them to the returned layer control). ``contexts`` rows carry id, name, kind, lat, lng and
    area_geojson."""
    fmap = _hex_base(contexts, outline_geojson, standalone=False)
    control = folium.LayerControl(collapsed=False)
    control.add_to(fmap)
    PageHandle(control).add_to(fmap)
    _fit(fmap, outline_geojson, None)
    return fmap, control


def hex_map(hexes: dict, breaks: list[int], contexts: list, outline_geojson: str | None,
            measure: str = "episodes") -> folium.Map:
    """A map that needs neither this server nor the network (an exported file): hexagons coloured
    by ``measure``, contexts as plain circles, the area's outline; Leaflet is inlined, no basemap.

    ``hexes`` is a GeoJSON FeatureCollection whose features carry ``measure`` and the other counts.
    """
    fmap = _hex_base(contexts, outline_geojson, standalone=True)
    if hexes["features"]:
        shown = [key for key in MEASURE_LABELS if key in hexes["features"][0]["properties"]]
        folium.GeoJson(
            hexes,
            name=f"{MEASURE_LABELS[measure]} by hexagon",
            style_function=lambda feature: {
                "fillColor": colour_for(feature["properties"][measure], breaks),
                "fillOpacity": 0.65,
                "color": "#6c757d",
                "weight": 0.6,
                "className": "hexagon",  # as on the live map (static/js/dashboard.js)
            },
            highlight_function=lambda _: {"weight": 2.5, "color": "#212529"},
            tooltip=folium.GeoJsonTooltip(
                fields=shown + (["gi_z"] if "gi_z" in hexes["features"][0]["properties"] else []),
                aliases=[MEASURE_LABELS[key] for key in shown] + ["Hotspot score (Gi* z)"],
            ),
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _fit(fmap, outline_geojson, hexes)
    return fmap


def shared_hex_map(hexes: dict, breaks: list[int], resolution: int) -> folium.Map:
    """The shared partner map: the disclosed hexagons with their rounded counts and nothing else, no
    contexts and no outline."""
    fmap = _base_map((51.49, -0.19), 11)

    def own_size(feature) -> bool:
        return feature["properties"]["resolution"] == resolution and not feature["properties"].get("rest")

    labelled = {"type": "FeatureCollection", "features": [
        {**feature, "properties": {**feature["properties"], "label": (
            f"About {feature['properties']['young_people']} young people"
            + (" (the rest of this hexagon)" if feature["properties"].get("rest") else ""))}}
        for feature in hexes["features"]]}
    if labelled["features"]:
        folium.GeoJson(
            labelled,
            name="Young people by hexagon",
            style_function=lambda feature: {
                "fillColor": colour_for(feature["properties"]["young_people"], breaks), "fillOpacity": 0.65,
                "color": "#6c757d", "weight": 0.6, "className": "hexagon" if own_size(feature) else "hexagon pooled"},
            highlight_function=lambda _: {"weight": 2.5, "color": "#212529"},
            tooltip=folium.GeoJsonTooltip(fields=["label", "h3"], aliases=["Young people", "H3 cell"]),
        ).add_to(fmap)
    # Open on the hexagons of the chosen size, where most young people are: the larger areas pooled
    # from the rest may lie far apart and would shrink them to a smudge (the table lists every area).
    _fit(fmap, None, {"features": [f for f in hexes["features"] if own_size(f)] or hexes["features"]})
    return fmap


# folium writes a viewport tag that forbids zooming the page (maximum-scale=1, user-scalable=no),
# which stops people with low vision from pinch-zooming on a phone.
_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')


@dataclass(frozen=True)
class RenderedMap:
    """A folium map rendered once: its head, body and script, and the names its page script finds
    it by. The head's inline scripts get each request's CSP nonce when the map is embedded."""

    head: str
    body: str
    script: str
    names: dict[str, str]

    def embedded(self) -> dict[str, Markup]:
        """The map's head, body and script, to place inside one of this app's own pages."""
        # folium's head has inline scripts too: they run only with this request's nonce (webapp.headers).
        return {"head": Markup(self.head.replace("<script>", f'<script nonce="{csp_nonce()}">')),
                "body": Markup(self.body), "script": Markup(self.script)}

    def standalone(self) -> dict[str, Markup]:
        """The same parts for a file opened with no server, where no CSP (nor nonce) applies."""
        return {"head": Markup(self.head), "body": Markup(self.body), "script": Markup(self.script)}


def render(fmap: folium.Map, **named) -> RenderedMap:
    """Render ``fmap`` (its name is ``map``; ``named`` elements' names go with it)."""
    root = fmap.get_root()
    root.render()
    # The page around an embedded map has its own viewport tag (templates/base.html).
    return RenderedMap(_FOLIUM_VIEWPORT.sub("", root.header.render()), root.html.render(), root.script.render(),
                       {"map": fmap.get_name(), **{name: element.get_name() for name, element in named.items()}})


def embed(fmap: folium.Map) -> dict[str, Markup]:
    """The map's head, body and script, to place inside one of this app's own pages."""
    return render(fmap).embedded()


def context_map(context, within: int, nearby) -> folium.Map:
    """A small map of one context, a ring at ``within`` metres, and where nearby episodes began
    (filled) and ended (hollow): ``nearby`` are rows of episodes_near."""
    geometry = to_shape(context.geometry)
    centre = geometry.representative_point()
    fmap = _base_map((centre.y, centre.x), 16)
    glyph, colour = CONTEXT_KIND_ICONS.get(ContextKind(context.kind), ("location-dot", "black"))
    folium.GeoJson(mapping(geometry), style_function=lambda _: {"color": colour, "weight": 2}).add_to(fmap)
    folium.Circle((centre.y, centre.x), radius=within, color="#495057", weight=1, fill=False, dash_array="4 4").add_to(fmap)
    # The name travels as escaped data in a feature, never inside folium's tooltip code.
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": mapping(centre), "properties": _context_properties(context)}]},
        marker=_pin(glyph, colour),
        tooltip=folium.GeoJsonTooltip(*CONTEXT_TOOLTIP_FIELDS),
    ).add_to(fmap)
    points = []
    for row in nearby:
        for near, location, label in ((row.started_near, row.last_seen_location, "last seen"),
                                      (row.ended_near, row.found_location, "found")):
            if near and location is not None:
                point = to_shape(location)
                points.append({"type": "Feature", "geometry": mapping(point),
                               "properties": {"what": label, "started": f"{row.started_at.astimezone(LONDON):%d %b %Y %H:%M}"}})
    if points:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": points},
            marker=folium.CircleMarker(radius=5, weight=2),
            style_function=lambda feature: {"color": "#bd0026", "fillColor": "#bd0026",
                                            "fillOpacity": 0.8 if feature["properties"]["what"] == "last seen" else 0},
            tooltip=folium.GeoJsonTooltip(["what", "started"], aliases=["Where", "Episode started"]),
        ).add_to(fmap)
    fmap.fit_bounds([(centre.y - within / 111_320, centre.x - within / 70_000),
                     (centre.y + within / 111_320, centre.x + within / 70_000)])
    return fmap


def area_map(centre: tuple[float, float], zoom: int, outline_geojson: str | None) -> folium.Map:
    """The register form's map to draw a context's area on: static/js/area_draw.js adds the
    drawing tools and the area being edited. The authority's outline helps find the place when
    there is no basemap."""
    fmap = _base_map(centre, zoom)
    fmap.default_js = [*fmap.default_js, ("geoman", vendor("@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js"))]
    fmap.default_css = [*fmap.default_css, ("geoman_css", vendor("@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css"))]
    if outline_geojson:
        folium.GeoJson(json.loads(outline_geojson), name="Authority", interactive=False,
                       style_function=lambda _: {"color": "#495057", "weight": 2, "fill": False, "dashArray": "6 4"},
                       ).add_to(fmap)
    return fmap


FLAG_COLOURS = {"home": "#495057", "linked_context": "#bd0026", "hotspot": "#f03b20", "peers": "#6f42c1",
                "missing": "#fd8d3c"}


def placement_map(home, results, easy_reach_miles: float) -> folium.Map | None:
    """The home postcode with a ring at the easy-reach distance, the candidates by rank, and the
    places their flags point at; None when nothing has a place (postcodes with no grid reference).
    Labels travel as escaped data in features, never in code."""
    flagged = [(place.label, place.point, FLAG_COLOURS[flag.kind]) for result in results for flag in result.flags
               if flag.kind != "home" for place in flag.places]
    candidates = [(f"{rank}. {result.candidate.label}", result.candidate.point, "")
                  for rank, result in enumerate(results, start=1) if result.candidate.point is not None]
    everything = ([home.point] if home.point else []) + [point for _, point, _ in candidates + flagged]
    if not everything:
        return None
    fmap = _base_map(everything[0], 10)
    if home.point is not None:
        folium.Circle(home.point, radius=easy_reach_miles * METRES_PER_MILE, color="#495057", weight=1.5,
                      fill=False, dash_array="6 4", tooltip=f"{easy_reach_miles:g} miles from home").add_to(fmap)

    def points(rows):
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(point.lnglat)},
             "properties": {"label": escape(label), "colour": colour}}
            for label, point, colour in rows]}

    if home.point is not None:
        folium.GeoJson(points([(f"Home ({home.place.postcode})", home.point, "#212529")]),
                       marker=_pin("house", "black"),
                       tooltip=folium.GeoJsonTooltip(["label"], labels=False)).add_to(fmap)
    if candidates:
        folium.GeoJson(points(candidates), marker=_pin("bed", "blue"),
                       tooltip=folium.GeoJsonTooltip(["label"], labels=False), name="Candidates").add_to(fmap)
    if flagged:
        folium.GeoJson(points(flagged), marker=folium.CircleMarker(radius=5, weight=2, fill_opacity=0.8),
                       style_function=lambda feature: {"color": feature["properties"]["colour"],
                                                       "fillColor": feature["properties"]["colour"]},
                       tooltip=folium.GeoJsonTooltip(["label"], labels=False), name="Flagged places").add_to(fmap)
    fmap.fit_bounds([(min(p.lat for p in everything), min(p.lng for p in everything)),
                     (max(p.lat for p in everything), max(p.lng for p in everything))])
    return fmap


def hexagon_map(ring_lnglat: list[tuple[float, float]], contexts: list) -> folium.Map:
    """One hexagon's outline and its open contexts (rows with id, name, kind, lat and lng)."""
    lats, lngs = [lat for _, lat in ring_lnglat], [lng for lng, _ in ring_lnglat]
    fmap = _base_map((sum(lats) / len(lats), sum(lngs) / len(lngs)), 15)
    folium.GeoJson({"type": "Polygon", "coordinates": [ring_lnglat]}, interactive=False,
                   style_function=lambda _: {"color": "#bd0026", "weight": 2, "fillOpacity": 0.1}).add_to(fmap)
    for kind, features in _context_points(contexts).items():
        glyph, colour = CONTEXT_KIND_ICONS[kind]
        folium.GeoJson({"type": "FeatureCollection", "features": features}, marker=_pin(glyph, colour),
                       tooltip=folium.GeoJsonTooltip(*CONTEXT_TOOLTIP_FIELDS)).add_to(fmap)
    fmap.fit_bounds([(min(lats), min(lngs)), (max(lats), max(lngs))])
    return fmap
