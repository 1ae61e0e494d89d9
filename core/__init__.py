"""Vocabulary every layer shares; imports nothing of the project, so anything may import it."""
