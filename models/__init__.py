"""Every model, imported so Alembic and `flask shell` see them."""
import models.tenancy_rls  # noqa: F401  (PostgreSQL row-level security settings)
from models.channel import Channel  # noqa: F401
from models.contact import Contact, ContactTag  # noqa: F401
from models.message import Message  # noqa: F401
from models.message_template import MessageTemplate  # noqa: F401
from models.quick_reply import QuickReply  # noqa: F401
from models.tag import Tag  # noqa: F401
from models.tenancy import TenantScoped, TenantScopeError, tenant_scope, unscoped  # noqa: F401
from models.tenant import Tenant  # noqa: F401
from models.user import User  # noqa: F401
from models.webhook_event import WebhookEvent  # noqa: F401
