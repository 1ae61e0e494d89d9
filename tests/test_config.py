"""Configuration from the environment."""
from __future__ import annotations

import pytest

from config import ConfigError, load_config


def test_development_generates_secrets_once(tmp_path):
    first = load_config({}, instance_path=tmp_path)
    second = load_config({}, instance_path=tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) > 40
    assert first["ENCRYPTION_KEYS"] == second["ENCRYPTION_KEYS"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'messagehub.db'}"
    assert first["REDIS_URL"] == f"unix://{tmp_path / 'redis.sock'}"


def test_production_refuses_to_start_without_secret(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"MESSAGEHUB_ENV": "production"}, instance_path=tmp_path)
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS"):
        load_config({"MESSAGEHUB_ENV": "production", "SECRET_KEY": "x" * 50}, instance_path=tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_environment_values_are_used(tmp_path):
    config = load_config({
        "DATABASE_URL": "postgres://u@db/mh", "REDIS_URL": "redis://cache:6379/2", "SECRET_KEY": "k" * 50,
        "MESSAGEHUB_ENCRYPTION_KEYS": "key1, key2", "PUBLIC_BASE_URL": "https://crm.example.com/",
    }, instance_path=tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/mh"
    assert config["REDIS_URL"] == "redis://cache:6379/2"
    assert config["ENCRYPTION_KEYS"] == ["key1", "key2"]
    assert config["PUBLIC_BASE_URL"] == "https://crm.example.com"
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["WTF_CSRF_TIME_LIMIT"] is None


@pytest.mark.parametrize("env, expected", [
    ({}, "http://127.0.0.1:5000"),
    ({"PORT": "5101"}, "http://127.0.0.1:5101"),
    ({"HOST": "0.0.0.0", "PORT": "8000"}, "http://127.0.0.1:8000"),  # a wildcard is not an address to link to
    ({"HOST": "192.168.1.20", "PORT": "5101"}, "http://192.168.1.20:5101"),
    ({"HOST": "::1", "PORT": "5101"}, "http://[::1]:5101"),
])
def test_the_default_public_base_url_follows_host_and_port(tmp_path, env, expected):
    config = load_config(env, instance_path=tmp_path)
    assert config["PUBLIC_BASE_URL"] == expected
    assert config["PUBLIC_BASE_URL_DERIVED"] == expected  # requests may answer with their own host


def test_an_explicit_public_base_url_is_never_replaced(tmp_path):
    config = load_config({"PUBLIC_BASE_URL": "http://10.0.0.5:5000", "PORT": "5101"}, instance_path=tmp_path)
    assert config["PUBLIC_BASE_URL"] == "http://10.0.0.5:5000" and config["PUBLIC_BASE_URL_DERIVED"] is None
    production = load_config({"MESSAGEHUB_ENV": "production", "SECRET_KEY": "k" * 50,
                              "MESSAGEHUB_ENCRYPTION_KEYS": "key1", "PORT": "8000"}, instance_path=tmp_path)
    assert production["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    assert production["PUBLIC_BASE_URL_DERIVED"] is None  # production never trusts a request's Host header


def test_make_run_passes_host_and_port_to_every_process(monkeypatch, tmp_path):
    """scripts/run_all.py hands the web server and the workers one HOST/PORT, and prints where web listens."""
    import subprocess

    from scripts import run_all

    seen = {}
    monkeypatch.setenv("PORT", "5101")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # no embedded Redis
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: None)

    class FakeSupervisor:
        def __init__(self, processes, env, cwd):
            seen["env"], seen["processes"] = env, processes

        def run(self):
            return 0

    monkeypatch.setattr(run_all, "Supervisor", FakeSupervisor)
    assert run_all.main() == 0
    env = seen["env"]
    assert env["PORT"] == "5101" and env["HOST"] == "127.0.0.1"
    assert load_config(env, instance_path=tmp_path)["PUBLIC_BASE_URL"] == "http://127.0.0.1:5101"
    web = next(spec.command for spec in seen["processes"] if spec.name == "web")
    assert "${PORT:-5000}" in web and "${HOST:-127.0.0.1}" in web
