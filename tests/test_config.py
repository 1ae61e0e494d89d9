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
