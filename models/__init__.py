"""Every model, imported so Alembic and `flask shell` see them; `init_app` turns on their listeners."""
from models import tenancy, tenancy_rls, user
from models.api_key import ApiKey
from models.audit_event import AuditEvent
from models.broadcast import Broadcast, BroadcastRecipient
from models.channel import Channel
from models.contact import Contact, ContactTag
from models.contact_import import ContactImport, ImportRowError
from models.deal import Deal, DealHistory, Pipeline, Stage, StageOutcome
from models.domain_event import DomainEvent
from models.drip import DripEnrolment, DripSequence, DripStep, DripStepSend
from models.message import Message
from models.message_template import MessageTemplate
from models.quick_reply import QuickReply
from models.scheduled_message import ScheduledMessage
from models.segment import Segment
from models.tag import Tag
from models.task import Note, Task
from models.tenancy import TenantScoped, TenantScopeError, tenant_scope, unscoped
from models.tenant import Tenant
from models.tenant_stats import PlatformDay, TenantStats, UsageDay
from models.user import User
from models.webhook_event import WebhookEvent
from models.webhook_subscription import WebhookAttempt, WebhookDelivery, WebhookSubscription
from models.workflow import Workflow, WorkflowRun

__all__ = ["Broadcast", "BroadcastRecipient", "Channel", "Contact", "ContactTag", "DripEnrolment", "DripSequence",
           "DripStep", "DripStepSend", "Message", "MessageTemplate",
           "QuickReply", "ScheduledMessage", "Segment", "Tag", "Tenant", "TenantScopeError", "TenantScoped", "User",
           "WebhookEvent", "init_app", "tenant_scope", "unscoped"]
__all__ += ["Deal", "DealHistory", "Note", "Pipeline", "Stage", "StageOutcome", "Task"]
__all__ += ["DomainEvent"]
__all__ += ["ContactImport", "ImportRowError"]
__all__ += ["WebhookAttempt", "WebhookDelivery", "WebhookSubscription"]
__all__ += ["AuditEvent", "PlatformDay", "TenantStats", "UsageDay"]
__all__ += ["ApiKey"]
__all__ += ["Workflow", "WorkflowRun"]


def init_app(app) -> None:
    """Register the ORM and engine listeners the models rely on: tenant scope, row-level security, sessions."""
    tenancy.init_app(app)
    tenancy_rls.init_app(app)
    user.init_app(app)
