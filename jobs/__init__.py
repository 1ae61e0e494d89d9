"""RQ job functions: ids in, never ORM objects; every tenant job enters its tenant's scope."""
