"""Action kinds: `run(ctx, config) -> outcome` changes things (inside the run's transaction), `describe` only says.

Sends go through the outbox with the bulk rules: an opted-out contact is skipped, never messaged. A refused
send (window closed, channel paused) is logged as skipped; anything raised fails the run with its error.
"Call a webhook" posts to one of the workspace's outbound webhooks, signed with its secret (so no secret sits in a
workflow's settings), and is retried and logged with that webhook's deliveries.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.enums import MessageOrigin
from extensions import db
from models import Deal, DripEnrolment, DripSequence, MessageTemplate, Stage, Tag, WebhookSubscription
from models.drip import EnrolmentState
from services import contacts as contact_service
from services import drips, tasks
from services.broadcasts.content import personalise
from services.channels import get_channel
from services.deals import DealInput, create_deal, move_deal
from services.errors import Invalid
from services.outbound_webhooks.deliveries import send_to_subscription
from services.outbox import SendRefused, ensure_can_send, queue_template, queue_text
from services.workflows.steps import Context, Field, StepKind, register_action

OPTED_OUT = "skipped: the contact opted out of messages"
UNITS = (("minutes", "minutes"), ("hours", "hours"))


def _get(model, object_id):
    found = db.session.scalar(select(model).where(model.id == object_id))
    if found is None:
        raise Invalid(f"The {model.__name__.lower()} #{object_id} no longer exists.")
    return found


def _send_check(ctx: Context) -> str | None:
    """Why the contact cannot be sent a bulk message now, or None."""
    if ctx.contact.opted_out:
        return OPTED_OUT
    try:
        ensure_can_send(ctx.contact, get_channel(), bulk=True)
    except SendRefused as exc:
        return f"skipped: {exc}"
    return None


def send_text(ctx: Context, config: dict) -> str:
    """Queue a text (placeholders filled) through the outbox."""
    refused = _send_check(ctx)
    if refused:
        return refused
    try:
        message = queue_text(ctx.contact, personalise(config["body"], ctx.contact), origin=MessageOrigin.WORKFLOW,
                             bulk=True)
    except SendRefused as exc:
        return f"skipped: {exc}"
    return f"queued text message #{message.id}"


def describe_send_text(ctx: Context, config: dict) -> str:
    return _send_check(ctx) or f"would send: {personalise(config['body'], ctx.contact)!r}"


def _variables(ctx: Context, config: dict) -> list[str]:
    return [personalise(line, ctx.contact) for line in (config.get("variables") or "").splitlines() if line.strip()]


def send_template(ctx: Context, config: dict) -> str:
    """Queue an approved template, one variable per line (placeholders filled)."""
    refused = _send_check(ctx)
    if refused:
        return refused
    template = _get(MessageTemplate, config["template_id"])
    try:
        message = queue_template(ctx.contact, template, _variables(ctx, config), origin=MessageOrigin.WORKFLOW,
                                 bulk=True)
    except SendRefused as exc:
        return f"skipped: {exc}"
    return f"queued template {template.name} as message #{message.id}"


def describe_send_template(ctx: Context, config: dict) -> str:
    template = _get(MessageTemplate, config["template_id"])
    return _send_check(ctx) or f"would send template {template.name} with {_variables(ctx, config)}"


def add_tag(ctx: Context, config: dict) -> str:
    """Tag the contact."""
    tag = contact_service.add_tag(ctx.contact, config["tag_id"])
    return f"tagged {tag.name}"


def remove_tag(ctx: Context, config: dict) -> str:
    """Untag the contact."""
    tag = _get(Tag, config["tag_id"])
    contact_service.remove_tag(ctx.contact, tag)
    return f"removed tag {tag.name}"


def enrol(ctx: Context, config: dict) -> str:
    """Enrol the contact in a drip sequence (refusals, e.g. already in it, are logged as skipped)."""
    sequence = _get(DripSequence, config["sequence_id"])
    try:
        drips.enrol(ctx.contact, sequence, source="workflow", now=ctx.now)
    except Invalid as exc:
        return f"skipped: {exc}"
    return f"enrolled in {sequence.name}"


def stop_drip(ctx: Context, config: dict) -> str:
    """Stop the contact's active enrolment in a sequence."""
    sequence = _get(DripSequence, config["sequence_id"])
    enrolment = db.session.scalar(select(DripEnrolment).where(
        DripEnrolment.sequence_id == sequence.id, DripEnrolment.contact_id == ctx.contact.id,
        DripEnrolment.state == EnrolmentState.ACTIVE))
    if enrolment is None:
        return f"skipped: not in {sequence.name}"
    drips.stop(enrolment, reason="stopped by a workflow", now=ctx.now)
    return f"stopped {sequence.name}"


def _due(ctx: Context, config: dict):
    hours = config.get("due_in_hours")
    return ctx.now + timedelta(hours=int(hours)) if hours else None


def create_task(ctx: Context, config: dict) -> str:
    """A task on the contact for the workflow's author."""
    task = tasks.create_task(personalise(config["title"], ctx.contact), _due(ctx, config), ctx.zone,
                             contact=ctx.contact, user_id=ctx.user_id)
    return f"created task {task.title!r}"


def create_deal_action(ctx: Context, config: dict) -> str:
    """A deal for the contact in the stage."""
    deal = create_deal(DealInput(title=personalise(config["title"], ctx.contact), contact_id=ctx.contact.id,
                                 stage_id=config["stage_id"], value=str(config.get("value") or "")),
                       user_id=ctx.user_id)
    return f"created deal {deal.title!r} in {_get(Stage, deal.stage_id).name}"


def _open_deal(ctx: Context, stage: Stage) -> Deal | None:
    return db.session.scalar(select(Deal).where(Deal.contact_id == ctx.contact.id,
                                                Deal.pipeline_id == stage.pipeline_id, Deal.closed_at.is_(None))
                             .order_by(Deal.id.desc()).limit(1))


def move_deal_action(ctx: Context, config: dict) -> str:
    """Move the contact's latest open deal of the stage's pipeline into the stage."""
    stage = _get(Stage, config["stage_id"])
    deal = _open_deal(ctx, stage)
    if deal is None:
        return "skipped: the contact has no open deal in that pipeline"
    move_deal(deal, stage.id, None, user_id=ctx.user_id)
    return f"moved deal {deal.title!r} to {stage.name}"


def set_field(ctx: Context, config: dict) -> str:
    """Set a custom field of the contact."""
    key = config["field"].strip().removeprefix("custom.")
    ctx.contact.custom_fields = {**(ctx.contact.custom_fields or {}), key: personalise(config["value"], ctx.contact)}
    db.session.flush()
    return f"set {key} to {ctx.contact.custom_fields[key]!r}"


WEBHOOK_EVENT = "workflow.webhook"


def webhook_payload(ctx: Context, config: dict) -> dict:
    """What a "call a webhook" step posts: the workflow, its run, the contact and the step's note."""
    contact = ctx.contact
    return {"event": WEBHOOK_EVENT, "workflow_id": ctx.workflow_id, "run_id": ctx.run_id,
            "contact": {"id": contact.id, "name": contact.name, "phone": contact.phone, "email": contact.email,
                        "custom_fields": dict(contact.custom_fields or {})},
            "note": personalise(config.get("note") or "", contact), "trigger": dict(ctx.data or {})}


def call_webhook(ctx: Context, config: dict) -> str:
    """Post the contact and the run to one of the workspace's outbound webhooks (sent by its delivery job)."""
    subscription = _get(WebhookSubscription, config["webhook_id"])
    delivery = send_to_subscription(subscription, WEBHOOK_EVENT, webhook_payload(ctx, config))
    return f"queued webhook delivery #{delivery.id} to {subscription.url}"


def describe_call_webhook(ctx: Context, config: dict) -> str:
    subscription = _get(WebhookSubscription, config["webhook_id"])
    return f"would post the contact to {subscription.url}"


def wait_delta(config: dict) -> timedelta:
    """How long a wait action pauses the run."""
    amount = int(config["amount"])
    return timedelta(hours=amount) if config["unit"] == "hours" else timedelta(minutes=amount)


def wait(ctx: Context, config: dict) -> str:
    """The runner pauses the run (a durable resume time); this only says so in the log."""
    return f"waiting {config['amount']} {config['unit']}"


def _describe_change(verb: str):
    def describe(ctx: Context, config: dict) -> str:
        names = {"tag_id": Tag, "sequence_id": DripSequence, "stage_id": Stage}
        parts = [f"{key.removesuffix('_id')} {_get(names[key], value).name}" if key in names else f"{key} {value!r}"
                 for key, value in config.items() if key != "kind"]
        return f"would {verb}: " + ", ".join(parts)
    return describe


_TAG = (Field("tag_id", "Tag", "tag"),)
_SEQUENCE = (Field("sequence_id", "Sequence", "sequence"),)
register_action(StepKind("send_text", "Send a text", (Field("body", "Message", "textarea",
                         help="{{name}}, {{first_name}}, {{custom.key}} are filled in"),), send_text,
                         describe_send_text))
register_action(StepKind("send_template", "Send a template", (
    Field("template_id", "Template", "template"),
    Field("variables", "Variables, one a line", "textarea", required=False)), send_template, describe_send_template))
register_action(StepKind("add_tag", "Add tag", _TAG, add_tag, _describe_change("add")))
register_action(StepKind("remove_tag", "Remove tag", _TAG, remove_tag, _describe_change("remove")))
register_action(StepKind("enrol", "Enrol in sequence", _SEQUENCE, enrol, _describe_change("enrol in")))
register_action(StepKind("stop_drip", "Stop sequence", _SEQUENCE, stop_drip, _describe_change("stop")))
register_action(StepKind("create_task", "Create a task", (
    Field("title", "Title"), Field("due_in_hours", "Due in hours", "number", required=False)),
    create_task, _describe_change("create task")))
register_action(StepKind("create_deal", "Create a deal", (
    Field("title", "Title"), Field("stage_id", "Stage", "stage"), Field("value", "Value", required=False)),
    create_deal_action, _describe_change("create deal")))
register_action(StepKind("move_deal", "Move deal to stage", (Field("stage_id", "Stage", "stage"),),
                         move_deal_action, _describe_change("move the open deal to")))
register_action(StepKind("set_field", "Set a field", (
    Field("field", "Custom field key"), Field("value", "Value")), set_field, _describe_change("set field")))
register_action(StepKind("call_webhook", "Call a webhook", (
    Field("webhook_id", "Webhook", "webhook"), Field("note", "Note sent along", required=False)),
    call_webhook, describe_call_webhook))
register_action(StepKind("wait", "Wait", (Field("amount", "For", "number"), Field("unit", "Unit", "choice", UNITS)),
                         wait, _describe_change("wait")))
