"""The OpenAPI 3.1 document of /api/v1, built from the same vocabularies the code validates against."""

from flask import Blueprint, jsonify

from geo.hexes import MAP_RESOLUTIONS
from models.codes import CONCERN_CODES, ContextKind, MissingType
from models.queries import MapLayer
from webapp.access import Access, declare
from webapp.params import DEFAULT_RESOLUTION, SEXES, WEEKDAY_NAMES
from webapp.shared import MINIMUM_AGE_YEARS, MINIMUM_DAYS, MINIMUM_HOURS, MINIMUM_WEEKDAYS

# Open to every signed-in user: it describes the API, it holds no data.
bp = Blueprint("openapi", __name__, url_prefix="/api/v1")
declare(bp, Access.SIGNED_IN)


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _list_of(values) -> str:
    return "Comma-separated, any of: " + ", ".join(values) + "."


ERROR = {
    "description": "Bad input: the message names the parameter or field and the value.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
UNAUTHORISED = {"description": "Not signed in."}
FORBIDDEN = {"description": "The role may not see individual-level data (partners)."}

HEX_PARAMETERS = [
    _query("res", "H3 resolution: 6 (about 3.7 km) to 10 (about 76 m), or auto: the one that suits zoom.",
           {"oneOf": [{"type": "integer", "minimum": MAP_RESOLUTIONS.start, "maximum": MAP_RESOLUTIONS.stop - 1},
                      {"const": "auto"}], "default": DEFAULT_RESOLUTION}),
    _query("zoom", "With res=auto, the web map's zoom level (13 gives resolution 8).",
           {"type": "integer", "minimum": 0, "maximum": 24}),
    _query("layer", "What each hexagon counts. last_seen or found: missing episodes placed where the young "
                    "person was last seen, or where found (episodes, young_people). contexts: open contexts "
                    "(contexts, and the distinct young_people linked to them). young_people: the distinct young "
                    "people linked to the hexagon's open contexts (young_people, contexts). On the last two, "
                    "kinds, concerns, sex and the dates (links current in the period) apply.",
           {"type": "string", "enum": [layer.value for layer in MapLayer], "default": "last_seen"}),
    _query("from", "First London date of an episode's start, inclusive.", {"type": "string", "format": "date"}),
    _query("to", "Last London date of an episode's start, inclusive; not before from.",
           {"type": "string", "format": "date"}),
    _query("bbox", "minlon,minlat,maxlon,maxlat in WGS 84 degrees: the hexagons whose centre lies in the box, "
                   "each with its whole count. A box of more than 250,000 hexagons at res is refused (400).",
           {"type": "string", "pattern": r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$"}),
    _query("type", "SSDA903 MISSING: M missing (whereabouts unknown), A away from placement.",
           {"type": "string", "enum": [m.value for m in MissingType]}),
    _query("sex", "Sex of the young person.", {"type": "string", "enum": list(SEXES)}),
    _query("age", "Age at the start of the episode, inclusive: 14-15, or 15.",
           {"type": "string", "pattern": r"^\d{1,2}(-\d{1,2})?$"}),
    _query("hours", "London hours of the start, end excluded, may wrap midnight: 22-06.",
           {"type": "string", "pattern": r"^\d{1,2}-\d{1,2}$"}),
    _query("days", "Days of the week of the start. " + _list_of(WEEKDAY_NAMES), {"type": "string"}),
    _query("concerns", "Episodes of young people linked to a context with one of these Children in Need "
           "census concern codes. " + _list_of(CONCERN_CODES), {"type": "string"}),
    _query("kinds", "Episodes of young people linked to a context of one of these kinds. "
           + _list_of(kind.value for kind in ContextKind), {"type": "string"}),
    _query("compare", "Add previous_episodes: the same hexagon's episodes in the period of the same length "
           "just before from (needs from).", {"type": "boolean", "default": False}),
    _query("contexts", "Add the number of open contexts in each hexagon (contexts).",
           {"type": "boolean", "default": False}),
    _query("gi", "Add Getis-Ord Gi* scores (gi_z, gi_p, gi_hotspot) over the bbox's hexagons, empty ones "
           "included (without a bbox, over the hexagons that hold any and two rings around them); the "
           "collection's gi_star says which study area was used.", {"type": "boolean", "default": False}),
    _query("gi_empty", "With gi: add the hotspots that hold nothing themselves (every count 0), as a cluster's "
           "centre may have no episode of its own.", {"type": "boolean", "default": False}),
]


NOT_SHARED_PARAMETERS = {"compare", "contexts", "gi", "gi_empty"}
SHARED_PARAMETERS = [
    _query("layer", "Where each young person's missing episodes place them: where last seen, or where found.",
           {"type": "string", "enum": ["last_seen", "found"], "default": "last_seen"})
    if parameter["name"] == "layer" else parameter
    for parameter in HEX_PARAMETERS if parameter["name"] not in NOT_SHARED_PARAMETERS
] + [_query("period", "Instead of from: the last 3, 6, 12 or 24 calendar months, or all.",
            {"type": "string", "enum": ["3", "6", "12", "24", "all"], "default": "all"})]


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Contextual safeguarding map API",
            "version": "1",
            "description": "Missing episodes as H3 hexagons, typed locations, placement distances and contexts. Synthetic "
            "data only in demonstrations. Sign in first (session cookie); POST requests from a browser "
            "session need the CSRF token in X-CSRFToken.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/hexes": {
                "get": {
                    "summary": "Missing episodes per H3 hexagon, as GeoJSON",
                    "parameters": HEX_PARAMETERS,
                    "responses": {
                        "200": {"description": "A FeatureCollection of hexagons with episodes.",
                                "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/Hexes"}}}},
                        "400": ERROR, "401": UNAUTHORISED, "403": FORBIDDEN,
                    },
                }
            },
            "/api/v1/shared/hexes": {
                "get": {
                    "summary": "The shared partner map: distinct young people per area, with disclosure control",
                    "description": "Open to every role, partners included. Counts are distinct young people, never "
                    "episodes. An area is shown only when more than DISCLOSURE_THRESHOLD (default 5) young people "
                    "match, and not always then: the threshold is perturbed by up to DISCLOSURE_THRESHOLD_NOISE "
                    "(default 2). Figures are perturbed by up to DISCLOSURE_NOISE (default 2) and rounded to the "
                    "nearest DISCLOSURE_ROUNDING (default 5), by the cell key method: the same young people always "
                    "get the same answer. A hexagon too small to show is pooled into the rest of its parent, "
                    "climbing to resolution 6, where it is left out exactly as an area where nobody matches. "
                    "A box chooses which whole areas are returned; it never cuts one. Contexts are given only as "
                    "counts by kind. gi, compare and contexts are refused (400), and so is a selection narrower than "
                    f"{MINIMUM_DAYS} days, {MINIMUM_AGE_YEARS} years of age, {MINIMUM_HOURS} hours of the day or "
                    f"{MINIMUM_WEEKDAYS} days of the week, or a period that is not whole calendar months (from the "
                    "first of a month, to the last of one).",
                    "parameters": SHARED_PARAMETERS,
                    "responses": {
                        "200": {"description": "A FeatureCollection of areas.",
                                "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/SharedHexes"}}}},
                        "400": ERROR, "401": UNAUTHORISED,
                    },
                }
            },
            "/api/v1/locations": {
                "get": {
                    "summary": "Resolve a typed location: postcode, latitude and longitude, or easting and northing",
                    "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"},
                                    "example": "SW5 0AA",
                                    "description": "For example sw50aa, 51.4915, -0.1935 or 525800 178400."}],
                    "responses": {
                        "200": {"description": "The point.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Location"}}}},
                        "400": ERROR, "401": UNAUTHORISED, "403": FORBIDDEN,
                    },
                }
            },
            "/api/v1/distance": {
                "get": {
                    "summary": "Home-to-placement distance and boundary, as the DfE counts them",
                    "description": "Straight line between the ONS Postcode Directory grid references in miles "
                    "to one decimal place, and whether the placement (to) is inside the upper-tier authority "
                    "of the home (from), which stands for the responsible authority; Scotland, Wales and "
                    "Northern Ireland count as outside. method is dfe, or converted when one postcode is "
                    "on the Irish Grid and the other on the British grid. A postcode the directory lists with "
                    "no grid reference (the Channel Islands, the Isle of Man, some others) is valid: miles and "
                    "method are then null and not_measured_because says why.",
                    "parameters": [
                        {"name": name, "in": "query", "required": True, "schema": {"type": "string"},
                         "example": example, "description": f"The {what} postcode, in any case and spacing."}
                        for name, what, example in (("from", "home", "SW5 0AA"), ("to", "placement", "NW1 2DB"))
                    ],
                    "responses": {
                        "200": {"description": "The distance.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Distance"}}}},
                        "400": ERROR, "401": UNAUTHORISED, "403": FORBIDDEN,
                    },
                }
            },
            "/api/v1/placement-checks": {
                "post": {
                    "summary": "Check candidate placements for one child (or a home postcode)",
                    "description": "For each candidate: the DfE distance and boundary from the home postcode, and "
                    "flags with reasons: within easy reach of home (PLACEMENT_EASY_REACH_MILES, default 20); within "
                    "PLACEMENT_NEAR_MILES (default 1) of a context the child is linked to, of the home or current "
                    "placement of a young person sharing a context with her, or of where she was last seen or "
                    "found while missing in the last 12 months; inside or next to a Gi* hotspot of missing "
                    "episodes (res 8, last 12 months, at least 5 episodes). Ranked by fewest flags, then nearest "
                    "to home. Every problem in the request is reported at once. A postcode the directory lists "
                    "with no grid reference is valid: a candidate's miles, lat and lng are then null and "
                    "not_measured_because says why (nothing near it can be checked, and it ranks last); a home "
                    "with none leaves every distance null, while the flags near each candidate are still checked.",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/PlacementCheckRequest"},
                        "example": {"home_postcode": "SW5 9QA", "candidates": [{"location": "LU1 1AA"}]}}}},
                    "responses": {
                        "200": {"description": "The candidates, ranked.",
                                "content": {"application/json": {"schema": {"type": "object"}}}},
                        "400": ERROR, "401": UNAUTHORISED, "403": FORBIDDEN,
                    },
                }
            },
            "/api/v1/contexts": {
                "post": {
                    "summary": "Record a context (a place or group where young people face harm)",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/NewContext"},
                        "example": {"name": "Willow Gardens", "kind": "park", "location": "SW5 0AA"}}}},
                    "responses": {
                        "201": {"description": "The context as a GeoJSON Feature (geometry null for online "
                                "spaces and peer groups).", "content": {"application/geo+json": {"schema": {"type": "object"}}}},
                        "400": ERROR, "401": UNAUTHORISED, "403": FORBIDDEN,
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string", "description": "parameter: 'value' reason"},
                        "field": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "Hexes": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"const": "FeatureCollection"},
                        "resolution": {"type": "integer"},
                        "layer": {"type": "string"},
                        "features": {"type": "array", "items": {"type": "object", "properties": {
                            "properties": {"type": "object", "required": ["h3", "young_people"],
                                           "properties": {
                                               "h3": {"type": "string", "description": "H3 cell, hexadecimal"},
                                               "episodes": {"type": "integer", "description": "episode layers"},
                                               "young_people": {"type": "integer", "description": "distinct people"},
                                               "contexts": {"type": "integer", "description": "open contexts; with contexts=true"},
                                               "previous_episodes": {"type": "integer"},
                                               "gi_z": {"type": "number"},
                                               "gi_p": {"type": "number"},
                                               "gi_hotspot": {"type": "boolean"},
                                           }}}}},
                    },
                },
                "SharedHexes": {
                    "type": "object",
                    "required": ["type", "features", "disclosure", "contexts_by_kind"],
                    "properties": {
                        "type": {"const": "FeatureCollection"},
                        "resolution": {"type": "integer"},
                        "layer": {"type": "string"},
                        "disclosure": {"type": "object", "properties": {
                            "threshold": {"type": "integer"}, "threshold_noise": {"type": "integer"},
                            "noise": {"type": "integer"}, "rounded_to": {"type": "integer"},
                            "coarsest_resolution": {"type": "integer"}, "method": {"type": "string"}}},
                        "contexts_by_kind": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "features": {"type": "array", "items": {"type": "object", "properties": {
                            "properties": {"type": "object", "required": ["h3", "resolution"],
                                           "properties": {
                                               "h3": {"type": "string", "description": "H3 cell, hexadecimal"},
                                               "resolution": {"type": "integer"},
                                               "rest": {"type": "boolean", "description": "the rest of h3 once "
                                                        "the hexagons in holes were shown apart"},
                                               "holes": {"type": "array", "items": {"type": "string"},
                                                         "description": "H3 cells inside h3 shown as areas "
                                                                        "of their own, left out of this one"},
                                               "young_people": {"type": "integer", "description": "rounded"},
                                           }}}}},
                    },
                },
                "Location": {
                    "type": "object",
                    "properties": {"lat": {"type": "number"}, "lng": {"type": "number"},
                                   "postcode": {"type": ["string", "null"]},
                                   "local_authority_code": {"type": ["string", "null"]}},
                },
                "Distance": {
                    "type": "object",
                    "required": ["from", "to", "miles", "inside_boundary", "method"],
                    "properties": {
                        "from": {"$ref": "#/components/schemas/PostcodePlace"},
                        "to": {"$ref": "#/components/schemas/PostcodePlace"},
                        "miles": {"type": ["number", "null"], "description": "one decimal place; null when not known"},
                        "inside_boundary": {"type": ["boolean", "null"],
                                            "description": "null when an upper-tier authority is not known"},
                        "method": {"type": ["string", "null"], "enum": ["dfe", "converted", None]},
                        "not_measured_because": {"type": "string",
                                                 "description": "why miles is null, naming the postcode"},
                    },
                },
                "PostcodePlace": {
                    "type": "object",
                    "properties": {
                        "postcode": {"type": "string"},
                        "local_authority": {"oneOf": [{"$ref": "#/components/schemas/Authority"}, {"type": "null"}]},
                        "upper_tier_authority": {"oneOf": [{"$ref": "#/components/schemas/Authority"}, {"type": "null"}]},
                    },
                },
                "Authority": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "name": {"type": ["string", "null"]}},
                },
                "PlacementCheckRequest": {
                    "type": "object",
                    "required": ["candidates"],
                    "properties": {
                        "young_person": {"type": "string", "description": "reference; her home postcode is used"},
                        "home_postcode": {"type": "string", "description": "when no young person is given"},
                        "candidates": {"type": "array", "minItems": 1, "maxItems": 10, "items": {
                            "type": "object",
                            "description": "exactly one of location (postcode, latitude and longitude, or easting "
                                           "and northing) or context_id (a placement provider)",
                            "properties": {"location": {"type": "string"}, "context_id": {"type": "integer"}}}},
                    },
                },
                "NewContext": {
                    "type": "object",
                    "required": ["name", "kind"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 200},
                        "kind": {"type": "string", "enum": [kind.value for kind in ContextKind]},
                        "location": {"type": "string", "description": "Required except for online spaces and "
                                     "peer groups, which must have none, or when an area is given."},
                        "area": {"type": "object", "description": "Instead of a location: a GeoJSON Polygon or "
                                 "MultiPolygon (or a Feature holding one), [longitude, latitude], inside the UK, "
                                 "50 m² to 25 km², not crossing itself."},
                        "address": {"type": "string"},
                    },
                },
            }
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
