"""Promotion: reconcile an environment with the registry, through pluggable targets, after
re-checking that every change really went through the four-eyes approval."""
