"""Judging a change: what it means (changes, plan, rules), who may approve it (policy, facts),
what holds it (freeze), the evidence a decision was made on, and the one judgment every caller
asks (judgment)."""
