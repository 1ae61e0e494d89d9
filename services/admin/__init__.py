"""Platform administration: reads across workspaces and acts on them (platform admins only).

The only services besides models.tenancy allowed to read unscoped; a look into one workspace enters that
workspace's scope instead, and every action and support view writes the audit log.
"""
