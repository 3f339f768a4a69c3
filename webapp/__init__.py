"""The Flask dashboard: an application factory wiring one blueprint per feature."""

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    from webapp import config

    app.config.from_mapping(config.from_environment())
    if test_config:
        app.config.update(test_config)
    config.check(app.config)
    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from webapp import (
        access,
        admin,
        api,
        assets,
        audit,
        auth,
        cases,
        cli,
        contexts,
        dashboard,
        db,
        errors,
        formatting,
        headers,
        health,
        imports,
        inbox,
        links,
        logs,
        openapi,
        params,
        people,
        placements,
        reports,
        shared,
    )
    from webapp.extensions import csrf

    logs.init_app(app)
    assets.init_app(app)
    db.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    access.init_app(app)
    audit.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    app.before_request(params.refuse_nul_characters)
    cli.init_app(app)
    formatting.init_app(app)
    inbox.init_app(app)
    for blueprint in (auth.bp, dashboard.bp, contexts.bp, links.bp, cases.bp, people.bp, placements.bp, imports.bp,
                      reports.bp, inbox.bp, shared.bp, api.bp, openapi.bp, health.bp, admin.bp):
        app.register_blueprint(blueprint)
    return app
