"""GitHub adapters: PR facts from the API, and publishing the decision (status, comment, reviews)."""
