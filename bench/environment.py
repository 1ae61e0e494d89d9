"""What the worker benches share: the process environment for a run against a fake Graph API."""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet


def use_fake_graph(tmp: Path, graph):
    """Point this process (and the workers it starts) at `graph`; returns the embedded Redis it started, if any.

    DATABASE_URL / REDIS_URL are used when set; otherwise a SQLite file and an embedded Redis under `tmp`.
    """
    env = {"MESSAGEHUB_INSTANCE": str(tmp), "SECRET_KEY": "bench-" + "k" * 40,
           "MESSAGEHUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}",
           "WHATSAPP_GRAPH_URL": graph.url, "WHATSAPP_GRAPH_VERSION": graph.api_version}
    redis_server = None
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        from embedded_redis import start_embedded_redis

        redis_server, env["REDIS_URL"] = start_embedded_redis(tmp)
    os.environ.update(env)
    return redis_server
