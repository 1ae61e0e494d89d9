"""Command-line tools: `flask create-admin`, `flask seed-demo`, `flask rotate-keys`, `flask webhook-events`,
`flask usage-rollup`."""
from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from extensions import db
from services.accounts import AccountError, find_user_by_email, sign_up
from services.passwords import password_problems

DEMO_ADMIN = "admin@messagehub.local"
DEMO_USER = "demo@messagehub.local"
DEMO_CONTACTS = [
    ("Ana Souza", "+5511987654321", "ana@example.com", ["customer", "brazil"]),
    ("Ben Carter", "+14155550123", "ben@example.com", ["lead"]),
    ("Chloé Martin", "+33612345678", None, ["customer"]),
    ("Diego López", "+34612345678", "diego@example.com", ["lead", "spain"]),
    ("Emma Wilson", "+447911123456", None, []),
]
# One colour per demo tag, in order of first use, so the seeded tags tell apart at a glance
# (each dark enough for the white text of a tag pill).
DEMO_TAG_COLOURS = ("#2f80ed", "#27ae60", "#c0392b", "#8e44ad", "#d35400", "#00838f")


def register_cli(app: Flask) -> None:
    """Attach the project's commands to `flask`."""
    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
    app.cli.add_command(rotate_keys)
    app.cli.add_command(webhook_events)
    app.cli.add_command(usage_rollup)


def _new_password() -> str:
    return secrets.token_urlsafe(12) + "-7"


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.option("--password", envvar="MESSAGEHUB_ADMIN_PASSWORD", help="Defaults to a generated one, printed once.")
def create_admin(email: str, password: str | None) -> None:
    """Create a platform admin (with a workspace of their own)."""
    password = password or _new_password()
    problems = password_problems(password, email)
    if problems:
        raise click.ClickException(" ".join(problems))
    try:
        sign_up(email, password, "Platform administration", is_admin=True)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Admin {email} created. Password: {password}")


def _demo_credentials_file() -> Path:
    return Path(current_app.instance_path) / "demo-logins.txt"


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create a demo admin and a demo workspace with sample contacts once; print how to log in."""
    from models.tenancy import tenant_scope
    from services.contacts import ContactInput, save_contact
    from services.tags import save_tag

    logins = _demo_credentials_file()
    if find_user_by_email(DEMO_USER) is None:
        passwords = {DEMO_ADMIN: _new_password(), DEMO_USER: _new_password()}
        if find_user_by_email(DEMO_ADMIN) is None:
            sign_up(DEMO_ADMIN, passwords[DEMO_ADMIN], "Platform administration", is_admin=True)
        user = sign_up(DEMO_USER, passwords[DEMO_USER], "Demo Shop")
        with tenant_scope(user.tenant_id):
            tags = {}
            for name, phone, email, tag_names in DEMO_CONTACTS:
                for tag_name in tag_names:
                    if tag_name not in tags:
                        colour = DEMO_TAG_COLOURS[len(tags) % len(DEMO_TAG_COLOURS)]
                        tags[tag_name] = save_tag(tag_name, colour)
                save_contact(ContactInput(name=name, phone=phone, email=email or "",
                                          tag_ids=[tags[t].id for t in tag_names]), "US")
        db.session.commit()
        logins.write_text("".join(f"{email}  {pw}\n" for email, pw in passwords.items()))
        logins.chmod(0o600)
    click.echo("MessageHub demo logins (also in instance/demo-logins.txt):")
    known = "  (demo users exist; their passwords were printed when created)"
    click.echo(logins.read_text() if logins.exists() else known)


@click.command("rotate-keys")
@with_appcontext
def rotate_keys() -> None:
    """Re-encrypt every stored secret under the first key of MESSAGEHUB_ENCRYPTION_KEYS."""
    from services.admin_keys import rotate_encryption_keys

    count = rotate_encryption_keys()
    db.session.commit()
    click.echo(f"Re-encrypted {count} secret(s) under the current key. Older keys can be removed now.")


@click.command("webhook-events")
@with_appcontext
@click.option("--rerun", is_flag=True, help="Run every failed delivery again (after fixing the cause).")
def webhook_events(rerun: bool) -> None:
    """List tenants whose webhook deliveries failed or are being retried; optionally run the failed ones again."""
    from services.webhook_events import failures_by_tenant, rerun_all_tenants

    report = failures_by_tenant()
    if not report:
        click.echo("Every stored webhook delivery was processed.")
    for tenant_id, counts in sorted(report.items()):
        click.echo(f"tenant {tenant_id}: {counts['failed']} failed, {counts['retrying']} retrying")
    if rerun:
        click.echo(f"Queued {rerun_all_tenants()} failed deliveries to run again.")


@click.command("usage-rollup")
@with_appcontext
@click.option("--days", default=60, show_default=True, help="How many days back to rewrite.")
def usage_rollup(days: int) -> None:
    """Rewrite the usage rollup's last DAYS days (the job keeps only the last week current): after an upgrade
    that adds rollup figures, so older days have them too."""
    from services.admin.rollup import refresh_stats, roll_up_days

    written = roll_up_days(days=days, count_days=days)
    refresh_stats()
    db.session.commit()
    click.echo(f"{written} workspace-days rewritten.")
