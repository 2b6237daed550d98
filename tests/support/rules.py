"""Transition rules the tests share (policies/rules/*.yaml as their files hold them)."""

# a `require` rule naming a team: a replacement from another model store needs a platform lead
SAME_STORE = """\
match: {events: [replace_model]}
expression: >-
  ["models:/", "s3://acme-models-prod/"].exists(s, before.model.uri.startsWith(s) && after.model.uri.startsWith(s))
message: the model must come from the same store as before
action: require
require: {approvals: 1, from: ["@acme/ml-platform-leads"]}
"""
