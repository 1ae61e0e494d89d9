"""Application factory: config -> extensions -> tenancy -> blueprints -> CLI."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

import extensions
from config import load_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build a MessageHub app; `config` overrides what the environment says."""
    overrides = dict(config or {})
    instance = overrides.get("MESSAGEHUB_INSTANCE")
    settings = load_config(instance_path=Path(instance) if instance else None)
    settings.update(overrides)

    app = Flask(__name__, instance_path=settings["MESSAGEHUB_INSTANCE"], instance_relative_config=False)
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per provider HTTP call drowns the logs that matter.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # `rq worker` installs its own handler on the rq loggers; without this each line prints twice.
    logging.getLogger("rq").propagate = False

    import models

    extensions.init_app(app)
    models.init_app(app)
    from services import inbox_version, queueing

    queueing.init_app(app)
    inbox_version.init_app(app)

    from blueprints import register_blueprints

    register_blueprints(app)
    from blueprints.webhook_intake import WebhookIntake

    # Provider deliveries are answered in front of Flask's request machinery (see that module).
    app.wsgi_app = WebhookIntake(app, app.wsgi_app)

    from cli import register_cli

    register_cli(app)
    return app
