"""`make run`: embedded Redis if needed, migrate, seed the demo, then every Procfile process, supervised."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config import default_public_base_url
from scripts.supervisor import Supervisor, parse_procfile

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Start everything; a process that exits is restarted; Ctrl-C stops every process, then the embedded Redis."""
    env = dict(os.environ, FLASK_APP="app:create_app", PYTHONUNBUFFERED="1")
    # Every process reads the same HOST and PORT: web listens there (Procfile) and config derives the
    # default PUBLIC_BASE_URL from them, so workers build links to where web really is.
    env.setdefault("HOST", "127.0.0.1")
    env.setdefault("PORT", "5000")
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    server = None
    if not env.get("REDIS_URL"):
        from embedded_redis import start_embedded_redis

        instance = Path(env.get("MESSAGEHUB_INSTANCE", ROOT / "instance"))
        server, env["REDIS_URL"] = start_embedded_redis(instance)
        print(f"Embedded Redis on {env['REDIS_URL']}")
    try:
        flask = [str(bin_dir / "flask")]
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True)
        subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True)
        print(f"\nOpen {default_public_base_url(env)}/ and log in with one of the accounts above. "
              "Ctrl-C stops everything.\n")
        return Supervisor(parse_procfile(ROOT / "Procfile"), env=env, cwd=ROOT).run()
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            server.shutdown(save=True)


if __name__ == "__main__":
    sys.exit(main())
