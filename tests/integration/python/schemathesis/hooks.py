"""Schemathesis hooks for agentrace's API: the rules between parameters that an OpenAPI
document cannot state (each parameter's own grammar is in the document, as patterns).

Schemathesis generates each query parameter on its own. Ten rules of the API join two
parameters (or a parameter and the server's configuration), and a request that breaks one is
refused with 400 as documented:

- `to` must be after `from` (for /report, `to` defaults to now);
- a report (`/report`) covers at most 366 days from `from` to `to`;
- a `cursor` continues the listing it came from: a page of another `sort` or `order` is refused;
- a series (`bucket` of /overview and /tools, `step` of /metrics/{name}) has at most 10,000
  points over the range;
- a budget check estimated from a prompt or a token count needs a `model` the price book knows
  (the document cannot list every priced model);
- `score_min` and `score_max` bound the score that `score` names, and need it;
- `sort=score` orders by the score that `score` names, and needs it;
- the audit log is narrowed by `project` (a name) or by `scope`, not both;
- an invitation is taken with a `password` where password login is on (the server under test),
  without one where it is off: the document cannot tie a body's field to a server's setting;
- the trace list with `q` comes by its traces' newest matching span, and refuses `sort` and
  `order` (the document says so with `x-agentrace-excludes`, which Schemathesis does not read).

A `q` is a query of agentrace's filter syntax (docs/search.md): a grammar no pattern states,
so a schema-valid text that does not read (an unclosed quote, an unknown field) is refused
with 400, its message pointing at the token.

An evaluator rule given with `PUT /evaluators/{name}` is checked whole, beyond what its schema
states: a `name` in the body is the path's; an `llm_judge` names a judge of the evaluators file
(the demo has none); a regular expression or a JSON Schema compiles; a length's `min` is not
above its `max`, and it has one of them; a name is not only spaces; a filter's `query` reads in
agentrace's filter syntax (docs/search.md), which a pattern cannot state.

A project's setting given with `PUT /settings/{kind}` is a document in the shape of its kind
(the budgets file's for `budgets`, a price file for `prices`, …): the document states it per
kind in words, as one schema cannot tie a body's shape to a path parameter; the server checks
it whole, and its 400 says "the <kind> document is invalid".

Only failures of the check "a schema-valid request is accepted" whose 400 names one of these
rules are dropped; any other refusal of a valid request, and every other check, still fails
the run. Loaded with SCHEMATHESIS_HOOKS=hooks (this directory on PYTHONPATH).
"""

import json

import schemathesis

# (parameter, words of the server's message) for each rule; see the module's docs.
JOINT_RULES = (
    ("to", "must be after `from`"),
    ("from", "a report covers at most 366 days"),
    ("cursor", "pass back a cursor returned by the same kind of query"),
    ("bucket", "too long (at most"),
    ("step", "too long (at most"),
    ("model", "no price known"),
    ("score_min", "needs `score`"),
    ("score_max", "needs `score`"),
    ("sort", "needs `score`"),
    ("scope", "or `scope`, not both"),
    ("password", "choose one (12 characters at least)"),
    ("sort", "with `q` traces come by their newest matching span"),
    ("q", "invalid parameter `q`"),
)

# Words of the server's message for each check of a rule beyond its schema; see the module's
# docs.
RULE_CHECKS = (
    "the body names the rule",
    "no judge is named",
    ": pattern: ",
    "the JSON Schema is not valid",
    "min is above max",
    "a length check needs min, max or both",
    "a name of 1 to",
    ": filter.query: ",
)
RULE_OPERATION = ("PUT", "/evaluators/{name}")
SETTING_OPERATION = ("PUT", "/settings/{kind}")
SETTING_CHECK = "document is invalid"


def refusal_message(response) -> str | None:
    if response.status_code != 400:
        return None
    try:
        return json.loads(response.text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return None


def breaks_a_joint_rule(case, response) -> bool:
    message = refusal_message(response)
    if message is None:
        return False
    method, path = RULE_OPERATION
    is_rule = case.method.upper() == method and case.operation.path.endswith(path)
    if is_rule and any(words in message for words in RULE_CHECKS):
        return True
    method, path = SETTING_OPERATION
    is_setting = case.method.upper() == method and case.operation.path.endswith(path)
    if is_setting and SETTING_CHECK in message:
        return True
    return any(
        f"`{parameter}`" in message and words in message for parameter, words in JOINT_RULES
    )


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    # ST202: "Schema-valid request rejected" (positive_data_acceptance).
    if failure.code == "ST202" and breaks_a_joint_rule(case, response):
        return False
    return True
