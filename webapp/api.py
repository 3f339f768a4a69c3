"""JSON API, version 1: hexagon counts as GeoJSON, location look-up, context creation.

Bad input is a 400 whose message names the field and the value; nothing is half-written.
"""

import json
from dataclasses import asdict
from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping

from geo.hexes import hex_feature_collection
from geo.hotspots import FDR_ALPHA
from geo.locations import LocationError
from models.contexts import new_context
from models.distances import distance, inside_boundary, not_measured_because, place_of
from models.locations import resolve_location
from models.validation import FieldError, InvalidInput
from webapp import params
from webapp.access import Access, declare
from webapp.analysis import MEASURES, add_change, add_gi_star, empty_hotspot_rows, hex_rows, previous_period
from webapp.data_cache import RESULTS
from webapp.db import get_session, visible_organisations
from webapp.placement_check import MAX_CANDIDATES, CheckSettings, candidate_of, check, home_of, result_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")
declare(bp, Access.INDIVIDUALS)


def invalid(errors: list[FieldError]):
    first = errors[0]
    body = {
        "error": first.message,
        "field": first.field,
        "value": first.value,
        "errors": [{"field": e.field, "value": e.value, "message": e.message} for e in errors],
    }
    return jsonify(body), 400


@bp.get("/hexes")
def hexes():
    resolution = params.resolution(request.args)
    layer = params.layer(request.args)
    selection = params.episode_selection(request.args)
    session = get_session()
    # The same question asked again while the data is unchanged gets the same answer, kept as JSON.
    body = RESULTS.get(session, ("api.hexes", tuple(sorted(request.args.items(multi=True)))),
                       lambda: json.dumps(_hex_collection(session, resolution, layer, selection), separators=(",", ":")),
                       visible_organisations())
    return current_app.response_class(body, mimetype="application/json")


def _hex_collection(session, resolution: int, layer, selection) -> dict:
    try:
        rows = hex_rows(session, resolution, selection, layer, with_contexts=params.flag(request.args, "contexts"))
    except ValueError as error:  # the box holds too many hexagons
        params.bad_parameter("bbox", request.args.get("bbox"), str(error))
    if params.flag(request.args, "compare"):
        if layer.episode_layer is None:
            params.bad_parameter("compare", request.args.get("compare"), "compares missing episodes: choose layer last_seen or found")
        if selection.started_from is None:
            params.bad_parameter("compare", request.args.get("compare"), "needs from: the previous period is as long as from to to")
        add_change(session, rows, resolution, previous_period(selection, datetime.now(timezone.utc)))
    area = None
    if params.flag(request.args, "gi"):
        try:
            area = add_gi_star(rows, resolution, selection.bbox, MEASURES[layer])
        except ValueError as error:
            name = "bbox" if selection.bbox else "res"
            params.bad_parameter(name, request.args.get(name), str(error))
    if params.flag(request.args, "gi_empty"):
        if area is None:
            params.bad_parameter("gi_empty", request.args.get("gi_empty"), "adds the Gi* hotspots that hold nothing: "
                                 "ask for gi=true too")
        rows = rows + empty_hotspot_rows(area, rows)
    collection = hex_feature_collection(rows)
    collection["resolution"] = resolution
    collection["layer"] = layer.value
    if area is not None:
        collection["gi_star"] = {"study_area": area.description, "hexagons": area.hexagons,
                                 "false_discovery_rate": FDR_ALPHA}
    return collection


@bp.get("/locations")
def locations():
    typed = request.args.get("q", "")
    try:
        resolved = resolve_location(get_session(), typed)
    except LocationError as error:
        return invalid([FieldError("q", error.value, error.reason)])
    return jsonify(
        lat=resolved.point.lat,
        lng=resolved.point.lng,
        postcode=resolved.postcode,
        local_authority_code=resolved.local_authority_code,
    )


@bp.get("/distance")
def placement_distance():
    session = get_session()
    try:
        home = place_of(session, request.args.get("from"), "from")
        placement = place_of(session, request.args.get("to"), "to")
    except InvalidInput as error:
        return invalid(error.errors)
    because = not_measured_because(home, placement)
    measured = None if because else distance(home, placement)
    return jsonify({
        "from": _place_json(home),
        "to": _place_json(placement),
        "miles": measured.miles if measured else None,
        "inside_boundary": measured.inside_boundary if measured else inside_boundary(home, placement),
        "method": measured.method if measured else None,
        **({"not_measured_because": because} if because else {}),
    })


def _place_json(place) -> dict:
    return {
        "postcode": place.postcode,
        "local_authority": asdict(place.local_authority) if place.local_authority else None,
        "upper_tier_authority": asdict(place.upper_tier) if place.upper_tier else None,
    }


@bp.post("/placement-checks")
def placement_checks():
    """Check candidate placements for one child (or a home postcode); see webapp.placement_check."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return invalid([FieldError("body", request.get_data(as_text=True)[:80], "is not a JSON object")])
    session = get_session()
    errors, candidates = [], []
    try:
        home = home_of(session, _text(body, "young_person"), _text(body, "home_postcode"),
                       current_user.organisation_id)
    except InvalidInput as error:
        errors += error.errors
    listed = body.get("candidates")
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_CANDIDATES:
        errors.append(FieldError("candidates", listed, f"must be a list of 1 to {MAX_CANDIDATES} candidates"))
        listed = []
    for index, item in enumerate(listed):
        name = f"candidates[{index}]"
        try:
            if not isinstance(item, dict) or len(item.keys() & {"location", "context_id"}) != 1:
                raise InvalidInput([FieldError(name, item, "must have exactly one of location or context_id")])
            if "context_id" in item and (not isinstance(item["context_id"], int) or isinstance(item["context_id"], bool)):
                raise InvalidInput([FieldError(f"{name}.context_id", item["context_id"], "must be a whole number")])
            if "location" in item and not isinstance(item["location"], str):
                raise InvalidInput([FieldError(f"{name}.location", item["location"], "must be text")])
            field_name = f"{name}.location" if "location" in item else f"{name}.context_id"
            candidates.append(candidate_of(session, field_name, item.get("location"), item.get("context_id")))
        except InvalidInput as error:
            errors += error.errors
    if errors:
        return invalid(errors)
    settings = CheckSettings.from_config(current_app.config)
    results = check(session, home, candidates, settings)
    return jsonify({
        "home": _place_json(home.place),
        "young_person": home.person.reference if home.person else None,
        "settings": {"easy_reach_miles": settings.easy_reach_miles, "near_miles": settings.near_miles},
        "candidates": [result_json(rank, result) for rank, result in enumerate(results, start=1)],
    })


def context_feature(context) -> dict:
    return {
        "type": "Feature",
        "id": context.id,
        "geometry": mapping(to_shape(context.geometry)) if context.geometry is not None else None,
        "properties": {
            "name": context.name,
            "kind": context.kind.value,
            "postcode": context.postcode,
            "address": context.address,
            "status": context.status.value,
        },
    }


@bp.post("/contexts")
def create_context():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return invalid([FieldError("body", request.get_data(as_text=True)[:80], "is not a JSON object")])
    session = get_session()
    try:
        context = new_context(
            session,
            name=_text(body, "name"),
            kind=_text(body, "kind"),
            location=_text(body, "location"),
            area=_geojson(body, "area"),
            address=_text(body, "address"),
            organisation_id=current_user.organisation_id,
            user=current_user,
        )
    except InvalidInput as error:
        return invalid(error.errors)
    session.commit()
    return jsonify(context_feature(context)), 201


def _geojson(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, dict):
        raise InvalidInput([FieldError(field, value, "must be a GeoJSON object")])
    return json.dumps(value) if value is not None else None


def _text(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise InvalidInput([FieldError(field, value, "must be text")])
    return value
