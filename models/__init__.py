"""Every model, imported so Alembic and `flask shell` see them."""
from models.contact import Contact, ContactTag  # noqa: F401
from models.tag import Tag  # noqa: F401
from models.tenancy import TenantScoped, TenantScopeError, tenant_scope, unscoped  # noqa: F401
from models.tenant import Tenant  # noqa: F401
from models.user import User  # noqa: F401
