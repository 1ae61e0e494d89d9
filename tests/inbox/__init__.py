"""Inbox: conversations, replies, templates, quick replies and media."""
