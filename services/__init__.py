"""Domain logic that spans models; plain functions named verb_noun."""
